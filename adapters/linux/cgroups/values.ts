/**
 * Special values in one place (cf. opencontainers/cgroups fs2 `numToStr`): our limits use
 * 0 for "no limit"; v2 spells that `max`, v1 spells it `-1`. Reading back, `max` and the
 * v1 "unlimited" page-rounded huge value both mean no limit (0).
 */

/** v1 reports an unlimited memory limit as LONG_MAX rounded down to a page. */
const V1_UNLIMITED_MIN = 2 ** 62;

export function limitToV2(value: number): string {
  return value === 0 ? 'max' : String(value);
}

export function limitToV1(value: number): string {
  return value === 0 ? '-1' : String(value);
}

/** A limit as read back (`max`, a number, v1's huge sentinel) → our 0-means-none form. */
export function limitFromText(text: string | null): number | null {
  if (text === null) return null;
  const t = text.trim();
  if (t === 'max' || t === '-1') return 0;
  if (!/^\d+$/.test(t)) return null;
  const n = Number(t);
  return n >= V1_UNLIMITED_MIN ? 0 : n;
}
