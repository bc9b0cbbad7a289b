/** Grace periods of stops, shared by workspaces, pipelines and the daemon. */

import type { Draft } from './draft.js';
import type { TimerKey } from './timers.js';

/** A grace is a non-negative integer of ms. */
export const isGrace = (graceMs: number): boolean => Number.isInteger(graceMs) && graceMs >= 0;

/** Refuses a grace that is not a non-negative integer of ms; true when it did. */
export function refusedGrace(d: Draft, graceMs: number): boolean {
  if (isGrace(graceMs)) return false;
  const message = `grace must be a non-negative integer of ms, got ${graceMs}`;
  d.refuse({ code: 'invalid', field: 'grace', message });
  return true;
}

/** A second stop with a shorter grace brings the SIGKILL forward; a longer one changes nothing. */
export function shortenGrace(d: Draft, key: TimerKey, graceMs: number, kill: () => void): void {
  const armedAtMs = d.timerAt(key);
  if (armedAtMs === undefined) return; // already killed (or nothing left to wait for)
  if (graceMs === 0) kill();
  else if (d.nowMs + graceMs < armedAtMs) d.armTimer(key, d.nowMs + graceMs);
}
