/**
 * `--since` / `--until` values: a duration back from now (`90s`, `10m`, `1h30m`, `2d`,
 * `250ms`) or an RFC 3339 time (`2026-11-29T14:00:00Z`, `…+01:00`). Pure: `nowWallMs` is
 * a parameter.
 */

const unitMs: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const durationRe = /^(?:\d+(?:ms|s|m|h|d))+$/;
const partRe = /(\d+)(ms|s|m|h|d)/g;
const rfc3339Re =
  /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:[Zz]|[+-]\d{2}:\d{2})$/;

/** A duration in ms, or null when `raw` is not one. */
export function parseDurationMs(raw: string): number | null {
  if (!durationRe.test(raw)) return null;
  let total = 0;
  for (const m of raw.matchAll(partRe)) total += Number(m[1]) * unitMs[m[2]!]!;
  return Number.isSafeInteger(total) ? total : null;
}

/** The wall time `raw` names, or an error that says what was expected. */
export function parseTimeBound(
  field: string,
  raw: string,
  nowWallMs: number,
): { ok: true; wallMs: number } | { ok: false; message: string } {
  const duration = parseDurationMs(raw);
  if (duration !== null) return { ok: true, wallMs: nowWallMs - duration };
  if (rfc3339Re.test(raw)) {
    const wallMs = Date.parse(raw.replace(' ', 'T'));
    if (Number.isFinite(wallMs)) return { ok: true, wallMs };
  }
  return {
    ok: false,
    message:
      `${field}: expected a duration like 10m or 1h30m, or an RFC 3339 time like ` +
      `2026-01-02T15:04:05Z, got "${raw}"`,
  };
}
