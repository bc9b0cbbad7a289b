import { START_MS_MIN_INTERVAL, throttleStartMs } from './throttle.js';

describe('min-interval throttle', () => {
  it.each([
    ['a first start is never delayed', null, 50, 50],
    [
      'a start soon after the last waits out the interval',
      1000,
      1010,
      1000 + START_MS_MIN_INTERVAL,
    ],
    ['a start long after the last is not delayed', 1000, 5000, 5000],
  ])('%s', (_t, lastStartMs, wantedMs, expected) => {
    expect(throttleStartMs(lastStartMs, wantedMs)).toBe(expected);
  });

  it('never changes the documented 200 ms first backoff', () => {
    expect(throttleStartMs(0, 0 + 200)).toBe(200);
  });
});
