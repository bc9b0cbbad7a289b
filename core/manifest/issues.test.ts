import { describeValue, formatIssues } from './issues.js';

describe('formatIssues', () => {
  it('prints one line per issue with the line number when known', () => {
    const text = formatIssues([
      { path: 'label', message: 'missing; expected a non-empty string' },
      { path: 'soma.rlimits.mem', message: 'unknown key; expected one of a, b', line: 5 },
    ]);
    expect(text).toBe(
      'label: missing; expected a non-empty string\n' +
        'soma.rlimits.mem: unknown key; expected one of a, b (line 5)',
    );
  });

  it('prints nothing for no issues', () => {
    expect(formatIssues([])).toBe('');
  });
});

describe('describeValue', () => {
  it.each<[unknown, string]>([
    [42, '42 (number)'],
    ['x', '"x" (string)'],
    [true, 'true (boolean)'],
    [null, 'null'],
    [undefined, 'nothing'],
    [[1, 2], 'an array of 2'],
    [{ a: 1 }, 'a table'],
    [10n ** 20n, '100000000000000000000 (integer too large)'],
    ['y'.repeat(60), `"${'y'.repeat(36)}... (string)`],
  ])('describes %p as %s', (value, want) => {
    expect(describeValue(value)).toBe(want);
  });
});
