/**
 * `whenQuiet` (metrics.ts): the hook runs when the daemon has gone 10 s without a request,
 * once per quiet spell, from the timer that stops the loop-delay sampling (no timer of its
 * own). The daemon gives freed memory back there (adapters/daemon/main.ts).
 */

import { jest } from '@jest/globals';
import { noteLoopActivity, whenQuiet } from './metrics.js';

beforeEach(() => jest.useFakeTimers());
afterEach(() => {
  whenQuiet(null);
  jest.useRealTimers();
});

describe('whenQuiet', () => {
  it('fires once the daemon has been quiet for 10 s, once per quiet spell', () => {
    const fired = jest.fn();
    whenQuiet(fired);
    noteLoopActivity(Date.now());
    jest.advanceTimersByTime(9_999);
    noteLoopActivity(Date.now()); // a request just before: 10 s more from here
    jest.advanceTimersByTime(9_999);
    expect(fired).not.toHaveBeenCalled();
    jest.advanceTimersByTime(1);
    expect(fired).toHaveBeenCalledTimes(1);
    jest.advanceTimersByTime(60_000);
    expect(fired).toHaveBeenCalledTimes(1);
    noteLoopActivity(Date.now());
    jest.advanceTimersByTime(10_000);
    expect(fired).toHaveBeenCalledTimes(2);
    expect(jest.getTimerCount()).toBe(0);
  });
});
