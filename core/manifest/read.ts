/**
 * Field readers for validators. Each reads one field of a plain object, appends an issue
 * when it does not fit, and returns a usable fallback so validation can go on and report
 * every problem at once.
 */

import { describeValue, joinPath } from './issues.js';
import { labelProblem, logRotationProblem } from './limits.js';
import type { LogRotation, SpecIssue } from './types.js';

export interface Reader {
  issues: SpecIssue[];
}

export type Obj = Record<string, unknown>;

export function newReader(): Reader {
  return { issues: [] };
}

export function isPlainObject(value: unknown): value is Obj {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

export function fail(r: Reader, path: string, message: string): void {
  r.issues.push({ path, message });
}

export function expected(r: Reader, path: string, what: string, got: unknown): void {
  fail(r, path, `expected ${what}, got ${describeValue(got)}`);
}

/** Read a table; null (after reporting) when it is not one. Unknown keys are reported. */
export function readTable(
  r: Reader,
  value: unknown,
  path: string,
  allowedKeys: readonly string[],
): Obj | null {
  if (!isPlainObject(value)) {
    expected(r, path === '' ? '(root)' : path, 'a table', value);
    return null;
  }
  for (const key of Object.keys(value)) {
    if (!allowedKeys.includes(key)) {
      fail(r, joinPath(path, key), `unknown key; expected one of ${allowedKeys.join(', ')}`);
    }
  }
  return value;
}

/** Optional sub-table: absent → empty object. */
export function readSubTable(
  r: Reader,
  obj: Obj,
  key: string,
  path: string,
  allowedKeys: readonly string[],
): Obj {
  const value = obj[key];
  if (value === undefined) return {};
  return readTable(r, value, joinPath(path, key), allowedKeys) ?? {};
}

export function readString(
  r: Reader,
  obj: Obj,
  key: string,
  path: string,
  opts: { fallback?: string; nonEmpty?: boolean },
): string {
  const value = obj[key];
  const where = joinPath(path, key);
  const what = opts.nonEmpty ? 'a non-empty string' : 'a string';
  if (value === undefined) {
    if (opts.fallback !== undefined) return opts.fallback;
    fail(r, where, `missing; expected ${what}`);
    return '';
  }
  if (typeof value !== 'string' || (opts.nonEmpty && value === '')) {
    expected(r, where, what, value);
    return opts.fallback ?? '';
  }
  if (value.includes('\0')) {
    fail(r, where, 'must not contain a NUL character');
    return opts.fallback ?? '';
  }
  return value;
}

export function readInt(
  r: Reader,
  obj: Obj,
  key: string,
  path: string,
  fallback: number | undefined,
): number {
  const value = obj[key];
  const where = joinPath(path, key);
  const what = 'a non-negative safe integer';
  if (value === undefined) {
    if (fallback !== undefined) return fallback;
    fail(r, where, `missing; expected ${what}`);
    return 0;
  }
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    expected(r, where, what, value);
    return fallback ?? 0;
  }
  return value;
}

export function readBool(
  r: Reader,
  obj: Obj,
  key: string,
  path: string,
  fallback: boolean,
): boolean {
  const value = obj[key];
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') {
    expected(r, joinPath(path, key), 'a boolean', value);
    return fallback;
  }
  return value;
}

/** One of `choices`; `caseless` lower-cases the input first. */
export function readEnum<T extends string>(
  r: Reader,
  obj: Obj,
  key: string,
  path: string,
  choices: readonly T[],
  opts: { fallback: T; caseless?: boolean },
): T {
  const value = obj[key];
  if (value === undefined) return opts.fallback;
  const text = typeof value === 'string' && opts.caseless ? value.toLowerCase() : value;
  const found = choices.find((choice) => choice === text);
  if (found === undefined) {
    expected(r, joinPath(path, key), `one of ${choices.join(', ')}`, value);
    return opts.fallback;
  }
  return found;
}

/** An array of strings; `envStyle` also requires `KEY=value`. Absent → []. */
export function readStrings(
  r: Reader,
  obj: Obj,
  key: string,
  path: string,
  opts: { envStyle?: boolean },
): string[] {
  const value = obj[key];
  const where = joinPath(path, key);
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    expected(r, where, 'an array of strings', value);
    return [];
  }
  const out: string[] = [];
  value.forEach((item: unknown, index) => {
    const itemPath = joinPath(where, index);
    if (typeof item !== 'string') {
      expected(r, itemPath, opts.envStyle ? 'a KEY=value string' : 'a string', item);
    } else if (item.includes('\0')) {
      fail(r, itemPath, 'must not contain a NUL character');
    } else if (opts.envStyle && item.indexOf('=') <= 0) {
      expected(r, itemPath, 'a KEY=value string', item);
    } else {
      out.push(item);
    }
  });
  return out;
}

/** A required label (docs/CONTRACT.md §1): 1-63 characters of the documented alphabet. */
export function readLabel(r: Reader, obj: Obj, key: string, path: string): string {
  const before = r.issues.length;
  const value = readString(r, obj, key, path, { nonEmpty: true });
  if (r.issues.length > before) return value;
  const problem = labelProblem(value);
  if (problem !== null) fail(r, joinPath(path, key), problem);
  return value;
}

/** The keys of a `logs` table: snake_case in TOML, camelCase in the JSON request. */
export const LOG_KEYS_TOML = ['max_bytes', 'keep'] as const;
export const LOG_KEYS_JSON = ['maxBytes', 'keep'] as const;

/**
 * An optional `logs` table (rotation of the captured streams; 0 = the daemon's default),
 * each field checked against LOG_ROTATION_RANGES. Absent, or both fields 0 → undefined.
 */
export function readLogRotation(
  r: Reader,
  obj: Obj,
  path: string,
  keys: typeof LOG_KEYS_TOML | typeof LOG_KEYS_JSON,
): LogRotation | undefined {
  if (obj.logs === undefined) return undefined;
  const where = joinPath(path, 'logs');
  const table = readTable(r, obj.logs, where, keys);
  if (table === null) return undefined;
  const [bytesKey, keepKey] = keys;
  const read = (key: string, name: 'maxBytes' | 'keep'): number => {
    const before = r.issues.length;
    const value = readInt(r, table, key, where, 0);
    if (r.issues.length > before) return 0;
    const problem = logRotationProblem(name, value);
    if (problem !== null) fail(r, joinPath(where, key), problem);
    return problem === null ? value : 0;
  };
  const rotation = { maxBytes: read(bytesKey, 'maxBytes'), keep: read(keepKey, 'keep') };
  return rotation.maxBytes === 0 && rotation.keep === 0 ? undefined : rotation;
}
