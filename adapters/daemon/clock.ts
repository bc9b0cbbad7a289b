/**
 * The Clock port on the real machine: monotonic integer ms from `performance.now()`,
 * wall time from `Date.now()`, timers on `setTimeout` (`setImmediate` for one already
 * due). A timer further away than setTimeout can wait (~24.8 days) re-arms itself;
 * nothing ticks when no timer is armed.
 */

import type { Clock, TimerHandle } from '../../core/ports.js';

const setTimeoutMaxMs = 2 ** 31 - 1;

export function createSystemClock(): Clock {
  let seq = 0;
  type Armed = { timeout: NodeJS.Timeout } | { immediate: NodeJS.Immediate };
  const timers = new Map<TimerHandle, Armed>();
  const nowMs = () => Math.floor(performance.now());
  const arm = (handle: TimerHandle, atMs: number, fire: () => void): void => {
    const delayMs = Math.max(0, atMs - nowMs());
    const due = () => {
      timers.delete(handle);
      fire();
    };
    // Due already: the loop's next turn (setTimeout's floor is 1 ms, and a push waiting
    // for its group commit would wait that long for nothing).
    if (delayMs === 0) {
      timers.set(handle, { immediate: setImmediate(due) });
      return;
    }
    const timeout = setTimeout(
      () => {
        if (nowMs() < atMs) return arm(handle, atMs, fire);
        due();
      },
      Math.min(delayMs, setTimeoutMaxMs),
    );
    timers.set(handle, { timeout });
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
      const timer = timers.get(handle);
      timers.delete(handle);
      if (timer === undefined) return;
      if ('timeout' in timer) clearTimeout(timer.timeout);
      else clearImmediate(timer.immediate);
    },
  };
}
