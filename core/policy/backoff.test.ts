import {
  defaultRestartPolicy,
  freshTally,
  nextBackoffMs,
  RESET_AFTER_MS,
  tallyAfterRun,
} from './backoff.js';

const policy = defaultRestartPolicy(true);

describe('backoff', () => {
  it('starts at 200 ms', () => {
    expect(freshTally(policy)).toEqual({ restarts: 0, backoffMs: 200 });
  });

  it.each([
    [200, 400],
    [400, 800],
    [12_800, 25_600],
    [25_600, 30_000],
    [30_000, 30_000],
    [0, 0],
  ])('follows %i ms with %i ms (doubling, capped at 30 s)', (current, next) => {
    expect(nextBackoffMs(current, policy)).toBe(next);
  });

  it('honours a smaller cap', () => {
    expect(nextBackoffMs(800, { ...policy, backoffMsMax: 1000 })).toBe(1000);
  });

  it('refuses a negative or fractional backoff', () => {
    expect(() => nextBackoffMs(-1, policy)).toThrow('non-negative integer');
    expect(() => nextBackoffMs(1.5, policy)).toThrow('non-negative integer');
  });

  it.each([
    [RESET_AFTER_MS - 1, { restarts: 4, backoffMs: 3200 }],
    [RESET_AFTER_MS, { restarts: 0, backoffMs: 200 }],
    [RESET_AFTER_MS * 10, { restarts: 0, backoffMs: 200 }],
  ])('after a run of %i ms the tally is %o', (runMs, expected) => {
    expect(tallyAfterRun({ restarts: 4, backoffMs: 3200 }, runMs, policy)).toEqual(expected);
  });

  it('uses the documented 10 s reset when the policy leaves it at 0', () => {
    const tally = { restarts: 2, backoffMs: 800 };
    expect(tallyAfterRun(tally, 9_999, { ...policy, resetAfterMs: 0 })).toBe(tally);
    expect(tallyAfterRun(tally, 10_000, { ...policy, resetAfterMs: 0 }).restarts).toBe(0);
  });
});
