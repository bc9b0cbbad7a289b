/**
 * Edges of the policy functions that the behaviour suites left open (found by `npm run
 * mutate`): refused inputs name the function and the value, a zero setting means
 * "default" or "off" as documented, never a different number.
 */

import { defaultRestartPolicy, freshTally, tallyAfterRun } from './backoff.js';
import { recordDeath } from './intensity.js';
import { permanentFailure } from './permafail.js';
import { formatMiB } from './quota.js';
import { throttleStartMs } from './throttle.js';

describe('policy input guards', () => {
  it.each([
    ['permanentFailure', () => permanentFailure(-1, 3), 'got -1'],
    ['permanentFailure', () => permanentFailure(1.5, 3), 'got 1.5'],
    ['formatMiB', () => formatMiB(-1), 'got -1'],
    ['formatMiB', () => formatMiB(0.5), 'got 0.5'],
    ['throttleStartMs', () => throttleStartMs(0, 10, -1), 'minIntervalMs must be >= 0'],
    ['recordDeath', () => recordDeath([500], 499, { deathsMax: 3, windowMs: 1000 }), '500 > 499'],
  ])('%s refuses a bad input, naming it', (name, call, what) => {
    expect(call).toThrow(name);
    expect(call).toThrow(what);
  });

  it('accepts a death at the same instant as the previous one', () => {
    const r = recordDeath([500], 500, { deathsMax: 3, windowMs: 1000 });
    expect(r).toEqual({ deathsMs: [500, 500], crashLoop: false });
  });

  it('accepts the smallest valid inputs', () => {
    expect(permanentFailure(0, 0)).toBe(false);
    expect(formatMiB(0)).toBe('0.00 MiB');
    expect(throttleStartMs(0, 10, 0)).toBe(10);
  });
});

describe('zero settings', () => {
  it('crash_loop_max = 0 never declares a crash loop', () => {
    let deathsMs: number[] = [];
    for (let i = 0; i < 10; i++) {
      const r = recordDeath(deathsMs, i, { deathsMax: 0, windowMs: 1000 });
      expect(r.crashLoop).toBe(false);
      deathsMs = r.deathsMs;
    }
  });

  it('reset_after is the policy value when set, 10 s only when 0', () => {
    const policy = { ...defaultRestartPolicy(true), resetAfterMs: 60_000 };
    const tally = { restarts: 4, backoffMs: 3200 };
    expect(tallyAfterRun(tally, 20_000, policy)).toBe(tally);
    expect(tallyAfterRun(tally, 60_000, policy)).toEqual(freshTally(policy));
    const zero = { ...policy, resetAfterMs: 0 };
    expect(tallyAfterRun(tally, 9_999, zero)).toBe(tally);
    expect(tallyAfterRun(tally, 10_000, zero)).toEqual(freshTally(zero));
  });
});
