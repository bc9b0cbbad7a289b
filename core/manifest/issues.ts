/**
 * Issue wording shared by every validator: `path: expected X, got V (type)`.
 */

import type { SpecIssue } from './types.js';

const SHOWN_CHARS_MAX = 40;

/** Short description of a value for an error message: `42 (number)`, `"x" (string)`. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string') return `${clip(JSON.stringify(value))} (string)`;
  if (typeof value === 'number') return `${String(value)} (number)`;
  if (typeof value === 'bigint') return `${String(value)} (integer too large)`;
  if (typeof value === 'boolean') return `${String(value)} (boolean)`;
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (isDateLike(value)) return `${clip(String(value))} (date)`;
  if (typeof value === 'object') return 'a table';
  return `a ${typeof value}`;
}

function isDateLike(value: unknown): boolean {
  // TOML dates (smol-toml's TomlDate); the Date global itself is off limits in core/.
  return Object.prototype.toString.call(value) === '[object Date]';
}

function clip(text: string): string {
  if (text.length <= SHOWN_CHARS_MAX) return text;
  return `${text.slice(0, SHOWN_CHARS_MAX - 3)}...`;
}

/** One line per issue: `path: message (line N)`. */
export function formatIssues(issues: SpecIssue[]): string {
  return issues
    .map((issue) => {
      const where = issue.line === undefined ? '' : ` (line ${issue.line})`;
      return `${issue.path}: ${issue.message}${where}`;
    })
    .join('\n');
}

/** Join path segments: `nodes`, 1, `payload` → `nodes[1].payload`. */
export function joinPath(base: string, key: string | number): string {
  if (typeof key === 'number') return `${base}[${key}]`;
  return base === '' ? key : `${base}.${key}`;
}
