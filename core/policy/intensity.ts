/**
 * Restart intensity over a sliding window (OTP `add_restart/3`): more than `deathsMax`
 * deaths within `windowMs` trips the crash-loop guard. Time is a parameter.
 */

import type { CrashLoopPolicy } from '../manifest/types.js';

export const CRASH_LOOP_DEATHS_MAX = 3;
export const CRASH_LOOP_WINDOW_MS = 300_000;

export const defaultCrashLoopPolicy = (): CrashLoopPolicy => ({
  deathsMax: CRASH_LOOP_DEATHS_MAX,
  windowMs: CRASH_LOOP_WINDOW_MS,
});

export interface IntensityResult {
  /** Deaths still inside the window, oldest first, the new one included. */
  deathsMs: number[];
  crashLoop: boolean;
}

export function recordDeath(
  deathsMs: readonly number[],
  nowMs: number,
  policy: CrashLoopPolicy,
): IntensityResult {
  const last = deathsMs[deathsMs.length - 1];
  // Stryker disable next-line ConditionalExpression: `undefined > nowMs` is false anyway
  if (last !== undefined && last > nowMs) {
    throw new Error(`recordDeath: time went backwards (${last} > ${nowMs})`);
  }
  const oldestMs = nowMs - policy.windowMs;
  const kept = deathsMs.filter((ms) => ms > oldestMs);
  kept.push(nowMs);
  // Keep the list bounded: only deathsMax + 1 entries can ever matter.
  const bounded = kept.slice(-(Math.max(0, policy.deathsMax) + 1));
  const crashLoop = policy.deathsMax > 0 && kept.length > policy.deathsMax;
  return { deathsMs: bounded, crashLoop };
}
