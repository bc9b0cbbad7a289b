import {
  confidence,
  exitText,
  humanBytes,
  humanDuration,
  isControl,
  keyValues,
  sparkline,
  table,
} from './format.js';

describe('format', () => {
  it.each([
    [0, '0 B'],
    [1023, '1023 B'],
    [1024, '1.00 KiB'],
    [12 * 1024 * 1024, '12.00 MiB'],
    [5242880, '5.00 MiB'],
    [3 * 1024 ** 3, '3.00 GiB'],
  ])('humanises %i bytes as %s', (bytes, text) => {
    expect(humanBytes(bytes)).toBe(text);
  });

  it.each([
    [250, '250ms'],
    [4200, '4.2s'],
    [185_000, '3m 05s'],
    [7_800_000, '2h 10m'],
    [100_800_000, '1d 4h'],
  ])('humanises %i ms as %s', (ms, text) => {
    expect(humanDuration(ms)).toBe(text);
  });

  it('draws a sparkline from lowest to highest bar', () => {
    expect(sparkline([0, 1, 2, 3, 4, 5, 6, 7])).toBe('▁▂▃▄▅▆▇█');
    expect(sparkline([5, 5, 5])).toBe('▁▁▁');
    expect(sparkline([])).toBe('');
  });

  it.each([
    [950, '0.95'],
    [1000, '1.00'],
    [333, '0.33'],
  ])('formats confidence %i‰ as %s', (permille, text) => {
    expect(confidence(permille)).toBe(text);
  });

  it('shows exit status with its signal when killed', () => {
    expect(exitText(null)).toBe('-');
    expect(exitText({ status: 0, signal: null })).toBe('0');
    expect(exitText({ status: 137, signal: 'SIGKILL' })).toBe('137 (SIGKILL)');
  });

  it('renders a borderless table with aligned columns', () => {
    expect(
      table(
        ['ID', 'LABEL'],
        [
          ['a', 'strict'],
          ['bbbb', 'x'],
        ],
      ),
    ).toBe('ID    LABEL\na     strict\nbbbb  x');
  });

  it('pads keys of key/value lines', () => {
    expect(
      keyValues([
        ['a', 1],
        ['long', 'x'],
      ]),
    ).toBe('a:    1\nlong: x');
  });
});

describe('terminal escaping', () => {
  it('shows control characters in table cells as escapes, never raw', () => {
    const out = table(['LABEL'], [['bad\u001b]0;owned\u0007\u001b[2J\r\nx\u009b']]);
    expect([...out].filter((c) => isControl(c.codePointAt(0) ?? 0) && c !== '\n')).toEqual([]);
    expect(out).toContain('bad\\x1b]0;owned\\x07\\x1b[2J\\r\\nx\\x9b');
  });

  it('escapes control characters in key: value lines', () => {
    expect(keyValues([['label', 'a\u001b[31m']])).toBe('label: a\\x1b[31m');
  });
});
