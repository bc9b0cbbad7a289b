/**
 * The Clock port on the real machine: monotonic integer ms from `performance.now()`,
 * wall time from `Date.now()`, timers on `setTimeout`. A timer further away than
 * setTimeout can wait (~24.8 days) re-arms itself; nothing ticks when no timer is armed.
 */

import type { Clock, TimerHandle } from '../../core/ports.js';

const setTimeoutMaxMs = 2 ** 31 - 1;

export function createSystemClock(): Clock {
  let seq = 0;
  const timers = new Map<TimerHandle, NodeJS.Timeout>();
  const nowMs = () => Math.floor(performance.now());
  const arm = (handle: TimerHandle, atMs: number, fire: () => void): void => {
    const delayMs = Math.max(0, atMs - nowMs());
    const timeout = setTimeout(
      () => {
        if (nowMs() < atMs) return arm(handle, atMs, fire);
        timers.delete(handle);
        fire();
      },
      Math.min(delayMs, setTimeoutMaxMs),
    );
    timers.set(handle, timeout);
  };
  return {
    nowMs,
    wallMs: () => Date.now(),
    setTimer(atMs, fire) {
      seq += 1;
      arm(seq, atMs, fire);
      return seq;
    },
    clearTimer(handle) {
      const timeout = timers.get(handle);
      if (timeout) clearTimeout(timeout);
      timers.delete(handle);
    },
  };
}
