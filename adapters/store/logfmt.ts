/**
 * logfmt for lifecycle events: `ts=2026-11-23T11:04:18.000Z ev=restart ws=01J… backoff_ms=400`.
 * Values with spaces, quotes, `=` or control characters are quoted with JSON escapes, so
 * `parseLogfmt(formatEvent(e))` gives the fields back (numbers and booleans as text).
 */

import type { LifecycleEvent } from '../../core/ports.js';
import { isoUtc } from './utc.js';

export function quoteValue(value: string): string {
  if (value === '') return '""';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters force quoting
  if (/[\s"=\\\u0000-\u001f\u007f]/.test(value)) return JSON.stringify(value);
  return value;
}

/** Keys are reduced to `[A-Za-z0-9_.-]` so a field name can never break a line. */
function safeKey(key: string): string {
  const cleaned = key.replace(/[^A-Za-z0-9_.-]/g, '_');
  return cleaned === '' ? '_' : cleaned;
}

export function formatEvent(event: LifecycleEvent): string {
  const parts = [`ts=${isoUtc(event.wallMs)}`, `ev=${quoteValue(event.ev)}`];
  for (const [key, value] of Object.entries(event.fields)) {
    if (key === 'ts' || key === 'ev') continue;
    parts.push(`${safeKey(key)}=${quoteValue(String(value))}`);
  }
  return parts.join(' ');
}

/** Parses one logfmt line into ordered key/value pairs; malformed tails are dropped. */
export function parseLogfmt(line: string): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < line.length) {
    while (line[i] === ' ') i += 1;
    const eq = line.indexOf('=', i);
    if (eq < 0) break;
    const key = line.slice(i, eq);
    i = eq + 1;
    if (line[i] === '"') {
      const end = closingQuote(line, i);
      if (end < 0) break;
      try {
        out[key] = JSON.parse(line.slice(i, end + 1)) as string;
      } catch {
        out[key] = line.slice(i + 1, end);
      }
      i = end + 1;
    } else {
      const space = line.indexOf(' ', i);
      const end = space < 0 ? line.length : space;
      out[key] = line.slice(i, end);
      i = end;
    }
  }
  return out;
}

function closingQuote(line: string, open: number): number {
  for (let j = open + 1; j < line.length; j += 1) {
    if (line[j] === '\\') j += 1;
    else if (line[j] === '"') return j;
  }
  return -1;
}

/** A logfmt line back into a LifecycleEvent (fields stay text, except plain integers). */
export function eventFromLine(line: string): LifecycleEvent | null {
  const kv = parseLogfmt(line);
  const { ts, ev, ...rest } = kv;
  if (ts === undefined || ev === undefined) return null;
  const wallMs = Date.parse(ts);
  if (Number.isNaN(wallMs)) return null;
  const fields: Record<string, string | number | boolean> = {};
  for (const [key, value] of Object.entries(rest)) {
    fields[key] = /^-?\d{1,15}$/.test(value) ? Number(value) : value;
  }
  return { wallMs, ev, fields };
}
