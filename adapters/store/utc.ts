/**
 * Date strings in UTC from the `getUTC*` fields only. `Date#toISOString` and
 * `Date#toUTCString` give the same text but go through V8's date cache, whose first use
 * loads ICU's time-zone data: about 0.8 MiB that then stays resident in the daemon
 * (bench/idle.ts). Years outside 0–9999 (never a wall clock) take Date's own path.
 */

const pad2 = (n: number) => String(n).padStart(2, '0');
const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function plainYear(d: Date): boolean {
  const year = d.getUTCFullYear();
  return year >= 0 && year <= 9999;
}

function clock(d: Date): string {
  return `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}`;
}

/** `new Date(ms).toISOString()`: `2026-11-23T11:04:18.000Z`. */
export function isoUtc(ms: number): string {
  const d = new Date(ms);
  if (!plainYear(d)) return d.toISOString(); // also throws for an invalid time, as it does
  const date = `${String(d.getUTCFullYear()).padStart(4, '0')}-${pad2(d.getUTCMonth() + 1)}`;
  const millis = String(d.getUTCMilliseconds()).padStart(3, '0');
  return `${date}-${pad2(d.getUTCDate())}T${clock(d)}.${millis}Z`;
}

/** `new Date(ms).toUTCString()`, the HTTP `Date` format: `Mon, 23 Nov 2026 11:04:18 GMT`. */
export function httpDate(ms: number): string {
  const d = new Date(ms);
  if (!plainYear(d)) return d.toUTCString();
  const year = String(d.getUTCFullYear()).padStart(4, '0');
  const day = `${days[d.getUTCDay()]}, ${pad2(d.getUTCDate())} ${months[d.getUTCMonth()]}`;
  return `${day} ${year} ${clock(d)} GMT`;
}
