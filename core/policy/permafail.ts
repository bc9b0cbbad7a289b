/**
 * Permanent-failure verdict (s6-permafailon): after `restartMax` consecutive restarts
 * the next failure is final. 0 = never.
 */

export function permanentFailure(restarts: number, restartMax: number): boolean {
  if (!Number.isInteger(restarts) || restarts < 0) {
    throw new Error(`permanentFailure: restarts must be a non-negative integer, got ${restarts}`);
  }
  return restartMax > 0 && restarts >= restartMax;
}

export const GIVE_UP_MESSAGE = 'restart_max reached — giving up';
