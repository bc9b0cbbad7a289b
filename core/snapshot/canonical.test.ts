import fc from 'fast-check';
import {
  canonicalJson,
  type ListSlot,
  packAnchored,
  packOnce,
  reuseList,
  reuseRecord,
  sameItems,
  stable,
} from './canonical.js';

/** The encoding as it was first written: a sorted deep copy through JSON.stringify. */
function sortedCopy(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedCopy);
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value).sort();
    return Object.fromEntries(
      keys.map((k) => [k, sortedCopy((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}
const golden = (value: unknown): string => `${JSON.stringify(sortedCopy(value), null, 1)}\n`;

describe('canonicalJson', () => {
  it('is byte-identical to JSON.stringify of a sorted copy, for any JSON value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => canonicalJson(v) === golden(v)),
      {
        numRuns: 500,
      },
    );
  });

  it.each([
    ['array-index keys first, ascending', { b: 1, 10: 2, 9: 3, a: 4, '01': 5, '-1': 6 }],
    [
      'the largest array index, and numeric keys that are not indices',
      {
        '4294967295': 1,
        '3x': 2,
        '4294967294': 3,
        5: 4,
        '01': 5,
        '00': 6,
      },
    ],
    ['numeric keys with a leading zero are strings', { '01': 1, '00': 2, 1: 3 }],
    ['the index 0 among indices out of text order', { 10: 1, 9: 2, 0: 3, b: 4, a: 5 }],
    ['keys next to the digits', { '/': 1, ':': 2, 10: 3, 9: 4 }],
    ['undefined and functions left out of objects', { a: undefined, f: () => 1, b: [undefined] }],
    ['non-finite numbers and -0', { n: Number.NaN, i: -Infinity, z: -0 }],
    ['empty containers at depth', { a: {}, b: [], c: [{}, []] }],
    ['strings that need escapes', { 'k"\n': 'tab\there \u2028 \u0000' }],
  ])('matches the golden text: %s', (_what, value) => {
    expect(canonicalJson(value)).toBe(golden(value));
  });

  it('writes a top-level undefined as JSON.stringify would, and refuses a BigInt', () => {
    expect(canonicalJson(undefined)).toBe(`${JSON.stringify(undefined)}\n`);
    expect(() => canonicalJson({ n: 1n })).toThrow('canonicalJson: a BigInt has no JSON form');
  });

  it('reuses the text of a stable value only at the depth it was written for', () => {
    const spec = stable({ z: 1, a: [1, 2] });
    const first = canonicalJson({ x: spec });
    expect(first).toBe(golden({ x: spec }));
    expect(canonicalJson({ x: { y: spec } })).toBe(golden({ x: { y: spec } }));
    expect(canonicalJson([spec, { x: spec }])).toBe(golden([spec, { x: spec }]));
    expect(canonicalJson({ x: spec })).toBe(first);
  });

  it('encodes a frozen value marked stable, reading it every time', () => {
    const frozen = stable(Object.freeze({ b: [1], a: 'x' }));
    expect(canonicalJson({ v: frozen })).toBe(golden({ v: frozen }));
    expect(canonicalJson([frozen])).toBe(golden([frozen]));
  });

  it('reads a stable value once (its text is kept), any other value every time', () => {
    const plain: Record<string, number> = { a: 1 };
    const frozen: Record<string, number> = stable({ a: 1 });
    expect(canonicalJson([plain, frozen])).toBe('[\n {\n  "a": 1\n },\n {\n  "a": 1\n }\n]\n');
    plain.a = 2;
    frozen.a = 2; // breaks the promise `stable` was given: the kept text shows it
    expect(canonicalJson([plain, frozen])).toBe('[\n {\n  "a": 2\n },\n {\n  "a": 1\n }\n]\n');
    stable(frozen); // marking it again keeps the text it has
    expect(canonicalJson([frozen])).toBe('[\n {\n  "a": 1\n }\n]\n');
  });

  it('packs a source once: the same object gives the same packed value', () => {
    const cache = new WeakMap<object, { n: number }>();
    let packs = 0;
    const source = { n: 1 };
    const pack = (s: { n: number }) => {
      packs += 1;
      return { n: s.n };
    };
    const first = packOnce(cache, source, pack);
    expect(packOnce(cache, source, pack)).toBe(first);
    expect(packOnce(cache, { n: 1 }, pack)).not.toBe(first);
    expect(packs).toBe(2);
  });

  it('reuses a list while it holds the same items, and takes the new one otherwise', () => {
    const slot: ListSlot<{ n: number }> = { last: null };
    const [a, b] = [{ n: 1 }, { n: 2 }];
    const first = reuseList(slot, [a, b]);
    expect(reuseList(slot, [a, b])).toBe(first);
    const swapped = [b, a];
    expect(reuseList(slot, swapped)).toBe(swapped);
    const shorter = [b];
    expect(reuseList(slot, shorter)).toBe(shorter);
    expect(reuseList(slot, [{ n: 2 }])).not.toBe(shorter);
    const byValue = reuseList(slot, [{ n: 2 }], (x, y) => x.n === y.n);
    expect(reuseList(slot, [{ n: 2 }], (x, y) => x.n === y.n)).toBe(byValue);
    expect(canonicalJson(byValue)).toBe('[\n {\n  "n": 2\n }\n]\n');
  });

  it('reuses a record only while every field is the same value', () => {
    const slot: { last: Record<string, unknown> | null } = { last: null };
    const list = [1];
    const first = reuseRecord(slot, { a: list, v: 5 });
    expect(reuseRecord(slot, { a: list, v: 5 })).toBe(first);
    expect(reuseRecord(slot, { a: [1], v: 5 })).not.toBe(first);
    const grown = { a: [1], v: 5, w: 1 };
    expect(reuseRecord(slot, grown)).toBe(grown);
    expect(reuseRecord(slot, { a: grown.a, v: 5 })).not.toBe(grown);
    expect(canonicalJson(reuseRecord(slot, { a: grown.a, v: 6 }))).toContain('"v": 6');
  });

  it('packs a record again when a field besides its anchor changed', () => {
    const cache = new WeakMap<object, { source: { id: string; spec: object }; packed: object }>();
    const spec = { x: 1 };
    const same = (p: { id: string }, q: { id: string }) => p.id === q.id;
    const pack = (r: { id: string; spec: object }) => ({ id: r.id });
    const first = packAnchored(cache, spec, { id: 'a', spec }, same, pack);
    expect(packAnchored(cache, spec, { id: 'a', spec }, same, pack)).toBe(first);
    const other = packAnchored(cache, spec, { id: 'b', spec }, same, pack);
    expect(other).toEqual({ id: 'b' });
    expect(packAnchored(cache, spec, { id: 'b', spec }, same, pack)).toBe(other);
  });

  it('compares lists item by item', () => {
    expect(sameItems(['a', 'b'], ['a', 'b'])).toBe(true);
    expect(sameItems(['a', 'b'], ['a', 'c'])).toBe(false);
    expect(sameItems(['a'], ['a', 'b'])).toBe(false);
    expect(sameItems([], [])).toBe(true);
  });
});
