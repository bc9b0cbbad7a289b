/**
 * Backoff schedule for restarts: 200 ms, doubling per consecutive failure, capped.
 * Pure integer arithmetic; the tally is the only memory between incarnations.
 */

import type { RestartPolicy } from '../manifest/types.js';

export const BACKOFF_MS_INITIAL = 200;
export const BACKOFF_MS_MAX = 30_000;
/**
 * A run that stayed up this long is healthy: its death starts a new incident with a fresh
 * backoff and tally. 10 s is well past any startup-path crash (bad config, port in use,
 * missing file), which must keep doubling, yet short against the 30 s cap, so a service
 * that crashes once an hour comes back after 200 ms instead of the capped delay.
 */
export const RESET_AFTER_MS = 10_000;

/** What a command or pipeline carries from one incarnation to the next. */
export interface Tally {
  /** Consecutive restarts since the last reset (the count restart_max applies to). */
  restarts: number;
  /** The delay the next restart would wait. */
  backoffMs: number;
}

export function defaultRestartPolicy(restartOnFailure: boolean): RestartPolicy {
  return {
    restartOnFailure,
    backoffMsInitial: BACKOFF_MS_INITIAL,
    backoffMsMax: BACKOFF_MS_MAX,
    restartMax: 0,
    resetAfterMs: RESET_AFTER_MS,
  };
}

export function freshTally(policy: RestartPolicy): Tally {
  return { restarts: 0, backoffMs: clampBackoffMs(policy.backoffMsInitial, policy) };
}

/** The backoff that follows one of `currentMs`: doubled, capped at `backoffMsMax`. */
export function nextBackoffMs(currentMs: number, policy: RestartPolicy): number {
  if (!Number.isInteger(currentMs) || currentMs < 0) {
    throw new Error(`nextBackoffMs: currentMs must be a non-negative integer, got ${currentMs}`);
  }
  // Never shrinks below min(currentMs, cap): 2 × currentMs ≥ currentMs, clamped to the cap.
  return clampBackoffMs(currentMs * 2, policy);
}

function clampBackoffMs(ms: number, policy: RestartPolicy): number {
  const maxMs = Math.max(0, policy.backoffMsMax);
  return Math.min(Math.max(0, ms), maxMs);
}

/** The tally after a run of `runMs`: cleared when the run stayed up long enough. */
export function tallyAfterRun(tally: Tally, runMs: number, policy: RestartPolicy): Tally {
  const resetAfterMs = policy.resetAfterMs > 0 ? policy.resetAfterMs : RESET_AFTER_MS;
  return runMs >= resetAfterMs ? freshTally(policy) : tally;
}
