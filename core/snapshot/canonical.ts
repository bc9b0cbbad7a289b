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

const stableValues = new WeakSet<object>();
const stableTexts = new WeakMap<object, { depth: number; text: string }>();
const indents: string[] = ['\n'];

/** Mark `value` immutable from now on: its canonical text may be computed once. */
export function stable<T extends object>(value: T): T {
  stableValues.add(value);
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

function newline(depth: number): string {
  for (let d = indents.length; d <= depth; d++) indents.push(`\n${' '.repeat(d)}`);
  return indents[depth] as string;
}

/** Keys in the order `JSON.stringify` of a sorted copy lists them (array indices first). */
function sortedKeys(o: object): string[] {
  const keys = Object.keys(o);
  let indices = 0;
  while (indices < keys.length && isArrayIndex(keys[indices] as string)) indices += 1;
  if (indices === 0) return keys.sort();
  // Object.keys lists array-index keys first, ascending, as any object built from them would.
  return keys.slice(0, indices).concat(keys.slice(indices).sort());
}

function isArrayIndex(key: string): boolean {
  if (!/^(?:0|[1-9][0-9]*)$/.test(key)) return false;
  return Number(key) <= 4_294_967_294;
}

function arrayText(value: unknown[], depth: number): string {
  if (value.length === 0) return '[]';
  const inner = newline(depth + 1);
  let text = '[';
  for (let i = 0; i < value.length; i++) {
    text += `${i === 0 ? '' : ','}${inner}${valueText(value[i], depth + 1) ?? 'null'}`;
  }
  return `${text}${newline(depth)}]`;
}

function objectText(value: object, depth: number): string {
  const inner = newline(depth + 1);
  let text = '';
  for (const key of sortedKeys(value)) {
    const item = valueText((value as Record<string, unknown>)[key], depth + 1);
    if (item === undefined) continue;
    text += `${text === '' ? '{' : ','}${inner}${JSON.stringify(key)}: ${item}`;
  }
  return text === '' ? '{}' : `${text}${newline(depth)}}`;
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
      if (!stableValues.has(value)) return compositeText(value, depth);
      const cached = stableTexts.get(value);
      if (cached !== undefined && cached.depth === depth) return cached.text;
      const text = compositeText(value, depth);
      stableTexts.set(value, { depth, text });
      return text;
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
