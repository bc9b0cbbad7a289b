/** Human formatting: bytes, durations, sparklines, plain tables. Pure and tested. */

import Table from 'cli-table3';

const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** `512 B`, `12.00 MiB` (two decimals past bytes, binary units like the contract's breaches). */
export function humanBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 1024) return `${Math.max(0, Math.round(bytes))} B`;
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(2)} ${units[unit]}`;
}

/** `850ms`, `4.2s`, `3m 05s`, `2h 10m`, `3d 4h`. */
export function humanDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${(ms / 1000).toFixed(1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

const bars = '▁▂▃▄▅▆▇█';

/** One bar per value, scaled between the minimum and the maximum of the series. */
export function sparkline(values: number[]): string {
  if (values.length === 0) return '';
  const min = Math.min(...values);
  const max = Math.max(...values);
  const span = max - min;
  return values
    .map((v) => {
      const level = span === 0 ? 0 : Math.round(((v - min) / span) * (bars.length - 1));
      return bars[level] ?? bars[0];
    })
    .join('');
}

/** Per-mille confidence as `0.95`. */
export function confidence(permille: number): string {
  return (permille / 1000).toFixed(2);
}

/** Exit status as the contract's `commands` shows it: code, or 128+signal. */
export function exitText(exit: { status: number; signal: string | null } | null): string {
  if (exit === null) return '-';
  return exit.signal ? `${exit.status} (${exit.signal})` : String(exit.status);
}

const named: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * Text from the daemon (labels, exec paths, messages) as the terminal should show it: C0
 * and C1 control characters, DEL, and bidi overrides become visible escapes (`\x1b`,
 * `\u202e`), so a label cannot move the cursor, retitle the window or reorder the line.
 */
export function escapeControl(text: string): string {
  let out = '';
  for (const c of text) {
    const code = c.codePointAt(0) ?? 0;
    if (!isControl(code)) out += c;
    else if (named[c] !== undefined) out += named[c];
    else if (code <= 0xff) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += `\\u${code.toString(16)}`;
  }
  return out;
}

/** C0, DEL, C1, and the bidi embedding/override/isolate characters. */
export function isControl(code: number): boolean {
  return (
    code <= 0x1f ||
    (code >= 0x7f && code <= 0x9f) ||
    (code >= 0x202a && code <= 0x202e) ||
    (code >= 0x2066 && code <= 0x2069)
  );
}

/** A borderless table (kubectl style): columns padded, header first. */
export function table(head: string[], rows: (string | number)[][]): string {
  const t = new Table({
    head,
    chars: {
      top: '',
      'top-mid': '',
      'top-left': '',
      'top-right': '',
      bottom: '',
      'bottom-mid': '',
      'bottom-left': '',
      'bottom-right': '',
      left: '',
      'left-mid': '',
      mid: '',
      'mid-mid': '',
      right: '',
      'right-mid': '',
      middle: '  ',
    },
    style: { 'padding-left': 0, 'padding-right': 0, head: [], border: [] },
  });
  for (const row of rows) t.push(row.map((cell) => escapeControl(String(cell))));
  return t
    .toString()
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n');
}

/** `key: value` lines, keys padded to the longest. */
export function keyValues(pairs: [string, string | number | boolean][]): string {
  const width = Math.max(0, ...pairs.map(([k]) => k.length));
  return pairs
    .map(([k, v]) => `${`${k}:`.padEnd(width + 1)} ${escapeControl(String(v))}`)
    .join('\n');
}
