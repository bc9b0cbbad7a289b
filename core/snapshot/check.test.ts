import { bool, Corrupt, collectingSkips, entries, int, str, unique } from './check.js';
import { migrate } from './codec.js';

const refusal = (fn: () => unknown): string => {
  try {
    fn();
  } catch (error) {
    if (error instanceof Corrupt) return error.message;
    throw error;
  }
  throw new Error('expected a Corrupt refusal');
};

describe('structural checks of persisted records', () => {
  it('reads a string, refusing an empty one only where a value is required', () => {
    expect(str({ k: '' }, 'k', 'p')).toBe('');
    expect(str({ k: 'x' }, 'k', 'p', true)).toBe('x');
    expect(refusal(() => str({ k: '' }, 'k', 'p', true))).toBe(
      'p.k: expected a non-empty string, got "" (string)',
    );
    expect(refusal(() => str({ k: 1 }, 'k', 'p'))).toBe('p.k: expected a string, got 1 (number)');
  });

  it.each([
    [-1, '-1 (number)'],
    [1.5, '1.5 (number)'],
    [2 ** 53, '9007199254740992 (number)'],
    ['3', '"3" (string)'],
  ])('refuses %j as a count', (value, shown) => {
    expect(refusal(() => int({ k: value }, 'k', 'p'))).toBe(
      `p.k: expected a non-negative safe integer, got ${shown}`,
    );
  });

  it('reads a count from 0 up', () => {
    expect(int({ k: 0 }, 'k', 'p')).toBe(0);
    expect(int({ k: 2 ** 53 - 1 }, 'k', 'p')).toBe(2 ** 53 - 1);
  });

  it('reads a boolean, and nothing else as one', () => {
    expect(bool({ k: false }, 'k', 'p')).toBe(false);
    expect(refusal(() => bool({ k: 'true' }, 'k', 'p'))).toBe(
      'p.k: expected a boolean, got "true" (string)',
    );
  });

  it('refuses the second of two items with the same key, naming its index', () => {
    expect(() => unique(['a', 'b'], (x) => x, 'list', 'id')).not.toThrow();
    expect(refusal(() => unique(['a', 'b', 'a'], (x) => x, 'list', 'id'))).toBe(
      'list[2]: duplicate id "a"',
    );
  });

  it('skips a bad entry only while collecting skips, and refuses it again after', () => {
    const doc = { list: ['a', 7, 'a'] };
    const item = (v: unknown, path: string) => {
      if (typeof v !== 'string') throw new Corrupt(`${path}: not a string`);
      return v;
    };
    const { value, skipped } = collectingSkips(() => entries(doc, 'list', '', item, (x) => x));
    expect(value).toEqual(['a']);
    expect(skipped).toEqual([
      { path: 'list[1]', message: 'list[1]: not a string' },
      { path: 'list[2]', message: 'list[2]: duplicate "a"' },
    ]);
    expect(refusal(() => entries(doc, 'list', '', item, (x) => x))).toBe('list[1]: not a string');
    const twice = { list: ['a', 'a'] };
    expect(refusal(() => entries(twice, 'list', '', item, (x) => x))).toBe(
      'list[1]: duplicate id "a"',
    );
  });

  it('lets an error that is not a refusal out of the decoder (a bug is not a corrupt file)', () => {
    const raw = {
      version: 5,
      get workspaces(): unknown {
        throw new TypeError('a bug');
      },
    };
    expect(() => migrate(raw)).toThrow(TypeError);
  });
});
