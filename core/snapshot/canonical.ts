/**
 * Canonical JSON: object keys sorted at every level, one space of indent per level, a
 * final newline — byte for byte `JSON.stringify(sortedCopy, null, 1) + '\n'` (the golden
 * test in canonical.test.ts holds it to that), written directly instead of through a
 * sorted copy.
 *
 * Incremental: a value marked `stable` (a packed spec, which the engine never mutates:
 * records are replaced, not changed) keeps its text, so a snapshot that differs from the
 * last one in one workspace re-serializes that workspace, not every spec it holds.
 */

/** The text last written for a stable value and its depth (-1: none yet). */
interface Kept {
  depth: number;
  text: string;
}

/**
 * Where a stable value holds its kept text: a property of its own under a symbol, hidden
 * (not enumerable; JSON and Object.keys skip symbols anyway). A property rather than a
 * WeakMap: the snapshot marks several new values on every write, and a WeakMap entry is an
 * ephemeron the garbage collector must trace on its own, for as long as the value lives.
 */
const KEPT: unique symbol = Symbol('canonical text');
type Marked = { [KEPT]?: Kept };
const indents: string[] = ['\n'];

/**
 * Mark `value` immutable from now on: its canonical text may be computed once. (A frozen or
 * sealed value cannot hold its text: it stays unmarked, its text computed every time.)
 */
export function stable<T extends object>(value: T): T {
  if ((value as Marked)[KEPT] === undefined && Object.isExtensible(value)) {
    // Stryker disable next-line StringLiteral: depth -1 matches no depth, the text is never read
    const kept: Kept = { depth: -1, text: '' };
    Object.defineProperty(value, KEPT, { value: kept });
  }
  return value;
}

/** `pack(source)` once per source object: the same source gives the same packed value. */
export function packOnce<S extends object, P extends object>(
  cache: WeakMap<S, P>,
  source: S,
  pack: (source: S) => P,
): P {
  let packed = cache.get(source);
  if (packed === undefined) {
    packed = stable(pack(source));
    cache.set(source, packed);
  }
  return packed;
}

/**
 * The packed value of a record that holds a stable part, its `anchor` (its spec, or its
 * newest sample): the value packed last time for that anchor is reused while `same` says
 * the record's other fields still match the source it was packed from, and packed again
 * (and kept) when they do not. So an unchanged record costs one lookup and its kept text.
 * `same` must compare every field the packed value holds that the anchor does not fix.
 */
export function packAnchored<A extends object, S, P extends object>(
  cache: WeakMap<A, { source: S; packed: P }>,
  anchor: A,
  source: S,
  same: (last: S, now: S) => boolean,
  pack: (source: S) => P,
): P {
  const last = cache.get(anchor);
  if (last !== undefined && same(last.source, source)) return last.packed;
  const packed = stable(pack(source));
  cache.set(anchor, { source, packed });
  return packed;
}

/** The last list a slot handed out, reused while a new one holds the same items. */
export interface ListSlot<T extends object> {
  last: T[] | null;
}

/**
 * `items`, or the list the slot handed out last time if it holds the same items (by
 * `same`, identity by default): a stable list, so an unchanged section of a snapshot
 * keeps its text, and an unchanged snapshot is the very same string as the last one.
 */
export function reuseList<T extends object>(
  slot: ListSlot<T>,
  items: T[],
  same: (a: T, b: T) => boolean = (a, b) => a === b,
): T[] {
  const last = slot.last;
  if (last !== null && last.length === items.length && items.every((x, i) => same(last[i] as T, x)))
    return last;
  slot.last = stable(items);
  return items;
}

/** A record whose every field is the same value (by identity) as in the slot's last one. */
export function reuseRecord<T extends object>(slot: { last: T | null }, record: T): T {
  const last = slot.last;
  if (last !== null) {
    const keys = Object.keys(record) as (keyof T)[];
    if (keys.length === Object.keys(last).length && keys.every((k) => last[k] === record[k]))
      return last;
  }
  slot.last = stable(record);
  return record;
}

/** Equal arrays of strings (or of objects by identity), element by element. */
export function sameItems<T>(a: readonly T[], b: readonly T[]): boolean {
  if (a.length !== b.length) return false;
  // Stryker disable next-line EqualityOperator: past the end both are undefined (same length)
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function newline(depth: number): string {
  for (let d = indents.length; d <= depth; d++) indents.push(`\n${' '.repeat(d)}`);
  return indents[depth] as string;
}

/** Keys in the order `JSON.stringify` of a sorted copy lists them (array indices first). */
function sortedKeys(o: object): string[] {
  const keys = Object.keys(o);
  if (isSorted(keys)) return keys;
  let indices = 0;
  while (indices < keys.length && isArrayIndex(keys[indices] as string)) indices += 1;
  if (indices === 0) return keys.sort();
  // Object.keys lists array-index keys first, ascending, as any object built from them would.
  return keys.slice(0, indices).concat(keys.slice(indices).sort());
}

/**
 * Already in the order a sort gives (by UTF-16 code units): nothing to sort or copy.
 * A fast path only: answering false sorts the same keys into the same order. Past the end
 * the key is undefined (never greater), and the keys of one object are never equal.
 */
// Stryker disable all: equivalent mutants (see above)
function isSorted(keys: string[]): boolean {
  for (let i = 1; i < keys.length; i++)
    if ((keys[i - 1] as string) >= (keys[i] as string)) return false;
  return true;
}
// Stryker restore all

function isArrayIndex(key: string): boolean {
  const first = key.charCodeAt(0);
  // A fast path before the pattern, which decides alone: skipping it changes nothing.
  // Stryker disable next-line ConditionalExpression,LogicalOperator: equivalent (see above)
  if (!(first >= 48 && first <= 57)) return false;
  if (!/^(?:0|[1-9][0-9]*)$/.test(key)) return false;
  return Number(key) <= 4_294_967_294;
}

/** `,` + newline at each depth: what goes before an array's item after the first. */
const itemSeparators: string[] = [];

function arrayText(value: unknown[], depth: number): string {
  if (value.length === 0) return '[]';
  const inner = newline(depth + 1);
  itemSeparators[depth + 1] ??= `,${inner}`;
  const separator = itemSeparators[depth + 1] as string;
  let text = `[${inner}${valueText(value[0], depth + 1) ?? 'null'}`;
  for (let i = 1; i < value.length; i++) {
    text += separator + (valueText(value[i], depth + 1) ?? 'null');
  }
  return text + newline(depth) + ']';
}

/**
 * Newline + quoted key + `: ` for the members of objects at `depth`, after `{` (the first
 * member) or `,` (the others), made once per key and depth: an object's text is then one
 * concatenation per member. Only the first `PREFIXES_MAX` keys met at a depth are kept (a
 * snapshot has a few dozen field names; the names in `vars` are the caller's).
 */
const prefixes: Map<string, [first: string, next: string]>[] = [];
const PREFIXES_MAX = 512;

function memberPrefixes(key: string, depth: number): [first: string, next: string] {
  let known = prefixes[depth];
  if (known === undefined) {
    known = new Map();
    prefixes[depth] = known;
  }
  let pair = known.get(key);
  if (pair === undefined) {
    const member = `${newline(depth)}${JSON.stringify(key)}: `;
    pair = [`{${member}`, `,${member}`];
    if (known.size < PREFIXES_MAX) known.set(key, pair);
  }
  return pair;
}

function objectText(value: object, depth: number): string {
  let text = '';
  for (const key of sortedKeys(value)) {
    const item = valueText((value as Record<string, unknown>)[key], depth + 1);
    if (item === undefined) continue;
    text += memberPrefixes(key, depth + 1)[text === '' ? 0 : 1] + item;
  }
  return text === '' ? '{}' : text + newline(depth) + '}';
}

function compositeText(value: object, depth: number): string {
  return Array.isArray(value) ? arrayText(value, depth) : objectText(value, depth);
}

/** Text of a value at `depth`, or undefined where JSON leaves it out (functions, undefined). */
function valueText(value: unknown, depth: number): string | undefined {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? String(value) : 'null';
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      if (value === null) return 'null';
      const kept = (value as Marked)[KEPT];
      if (kept === undefined) return compositeText(value, depth);
      if (kept.depth !== depth) {
        kept.text = compositeText(value, depth);
        kept.depth = depth;
      }
      return kept.text;
    }
    case 'bigint':
      throw new TypeError('canonicalJson: a BigInt has no JSON form');
    default:
      return undefined;
  }
}

export function canonicalJson(value: unknown): string {
  return `${valueText(value, 0) ?? 'undefined'}\n`;
}
