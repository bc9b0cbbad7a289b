/**
 * Min-interval throttle (s6 keeps 1 s between two starts of a service). Ours is 100 ms:
 * below the 200 ms initial backoff so it never changes the documented schedule, but it
 * keeps a spec with `restart_backoff_ms = 0` from spinning the CPU.
 */

export const START_MS_MIN_INTERVAL = 100;

/** The earliest time a new start may happen, given the last start and the wanted time. */
export function throttleStartMs(
  lastStartMs: number | null,
  wantedAtMs: number,
  minIntervalMs: number = START_MS_MIN_INTERVAL,
): number {
  if (minIntervalMs < 0) throw new Error('throttleStartMs: minIntervalMs must be >= 0');
  if (lastStartMs === null) return wantedAtMs;
  return Math.max(wantedAtMs, lastStartMs + minIntervalMs);
}
