/**
 * Structural checks for persisted records. A mismatch throws `Corrupt` with the path and
 * what was expected; `decodeSnapshot` catches it and returns it as a value. The throw
 * never leaves this module's callers in core/snapshot.
 */

import { describeValue } from '../manifest/issues.js';

export class Corrupt extends Error {
  override readonly name = 'Corrupt';
}

export type Obj = Record<string, unknown>;

export function join(base: string, key: string | number): string {
  if (typeof key === 'number') return `${base}[${key}]`;
  return base === '' ? key : `${base}.${key}`;
}

export function corrupt(path: string, what: string, got: unknown): never {
  throw new Corrupt(
    `${path === '' ? '(root)' : path}: expected ${what}, got ${describeValue(got)}`,
  );
}

export function obj(value: unknown, path: string): Obj {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    corrupt(path, 'an object', value);
  }
  return value as Obj;
}

export function str(o: Obj, key: string, path: string, nonEmpty = false): string {
  const value = o[key];
  if (typeof value !== 'string' || (nonEmpty && value === '')) {
    corrupt(join(path, key), nonEmpty ? 'a non-empty string' : 'a string', value);
  }
  return value;
}

export function int(o: Obj, key: string, path: string): number {
  const value = o[key];
  // Number.isSafeInteger is false for anything that is not a number.
  if (!Number.isSafeInteger(value) || (value as number) < 0) {
    corrupt(join(path, key), 'a non-negative safe integer', value);
  }
  return value as number;
}

export function bool(o: Obj, key: string, path: string): boolean {
  const value = o[key];
  if (typeof value !== 'boolean') corrupt(join(path, key), 'a boolean', value);
  return value;
}

export function oneOf<T extends string>(
  o: Obj,
  key: string,
  path: string,
  choices: readonly T[],
): T {
  const value = o[key];
  const found = choices.find((choice) => choice === value);
  if (found === undefined) corrupt(join(path, key), `one of ${choices.join(', ')}`, value);
  return found;
}

export function arr<T>(
  o: Obj,
  key: string,
  path: string,
  item: (value: unknown, path: string) => T,
): T[] {
  const value = o[key];
  const where = join(path, key);
  if (!Array.isArray(value)) corrupt(where, 'an array', value);
  return value.map((v: unknown, index) => item(v, join(where, index)));
}

export function strItem(value: unknown, path: string): string {
  if (typeof value !== 'string') corrupt(path, 'a string', value);
  return value;
}

export function strRecord(o: Obj, key: string, path: string): Record<string, string> {
  const where = join(path, key);
  const record = obj(o[key], where);
  const entries = Object.entries(record).map(([k, v]) => [k, strItem(v, join(where, k))]);
  // fromEntries defines own properties, so a `__proto__` key stays plain data.
  return Object.fromEntries(entries) as Record<string, string>;
}

/** Refuse a repeated key (ids, names) within one list. */
export function unique<T>(items: T[], key: (item: T) => string, path: string, what: string): void {
  const seen = new Set<string>();
  items.forEach((item, index) => {
    const k = key(item);
    if (seen.has(k)) throw new Corrupt(`${path}[${index}]: duplicate ${what} ${JSON.stringify(k)}`);
    seen.add(k);
  });
}

/** An entry of a snapshot list that was dropped on restore, and why. */
export interface SkippedEntry {
  path: string;
  message: string;
}

let skipSink: SkippedEntry[] | null = null;

/**
 * Runs a decode in which `entries` drops a malformed list entry (recording it) instead of
 * failing the whole snapshot. Synchronous, so the sink never leaks between decodes.
 */
export function collectingSkips<T>(decode: () => T): { value: T; skipped: SkippedEntry[] } {
  const outer = skipSink;
  const skipped: SkippedEntry[] = [];
  skipSink = skipped;
  try {
    return { value: decode(), skipped };
  } finally {
    skipSink = outer;
  }
}

/**
 * A top-level list of independent entries (workspaces, saved pipelines, ...): must be an
 * array (else the file is corrupt), but inside `collectingSkips` one bad entry costs only
 * itself. A repeated key keeps the first entry and skips the others.
 */
export function entries<T>(
  o: Obj,
  key: string,
  path: string,
  item: (value: unknown, path: string) => T,
  id: (item: T) => string,
): T[] {
  const value = o[key];
  const where = join(path, key);
  if (!Array.isArray(value)) corrupt(where, 'an array', value);
  const sink = skipSink;
  if (sink === null) {
    const all = value.map((v: unknown, index) => item(v, join(where, index)));
    unique(all, id, where, 'id');
    return all;
  }
  const out: T[] = [];
  const seen = new Set<string>();
  value.forEach((v: unknown, index) => {
    const at = join(where, index);
    try {
      const entry = item(v, at);
      if (seen.has(id(entry))) throw new Corrupt(`${at}: duplicate ${JSON.stringify(id(entry))}`);
      seen.add(id(entry));
      out.push(entry);
    } catch (error) {
      if (!(error instanceof Corrupt)) throw error;
      sink.push({ path: at, message: error.message });
    }
  });
  return out;
}
