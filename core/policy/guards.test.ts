/**
 * Edges of the policy functions that the behaviour suites left open (found by `npm run
 * mutate`): refused inputs name the function and the value, a zero setting means
 * "default" or "off" as documented, never a different number.
 */

import fc from 'fast-check';
import { defaultRestartPolicy, freshTally, nextBackoffMs, tallyAfterRun } from './backoff.js';
import { nextIncarnation } from './incarnation.js';
import { defaultPolicy } from './index.js';
import { recordDeath } from './intensity.js';
import { groupMembers, type ProcEntry } from './leftovers.js';
import { permanentFailure } from './permafail.js';
import { evaluateQuota, formatMiB } from './quota.js';
import { decideRestart, type ExitInfo, isFailure } from './restart.js';
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

describe('edges the mutation run found open', () => {
  it('the default restart policy is 200 ms doubling to 30 s, unbounded, reset after 10 s', () => {
    for (const restartOnFailure of [true, false]) {
      expect(defaultRestartPolicy(restartOnFailure)).toEqual({
        restartOnFailure,
        backoffMsInitial: 200,
        backoffMsMax: 30_000,
        restartMax: 0,
        resetAfterMs: 10_000,
      });
    }
  });

  it('the next backoff never shrinks below the current one or the cap', () => {
    fc.assert(
      fc.property(fc.nat(100_000), fc.integer({ min: -5, max: 60_000 }), (currentMs, maxMs) => {
        const policy = { ...defaultRestartPolicy(true), backoffMsMax: maxMs };
        const next = nextBackoffMs(currentMs, policy);
        expect(next).toBeGreaterThanOrEqual(Math.min(currentMs, Math.max(0, maxMs)));
        expect(next).toBeLessThanOrEqual(Math.max(0, maxMs));
      }),
    );
  });

  it('a death by a signal is a failure whatever the exit code reads', () => {
    expect(isFailure({ code: 0, signal: 'SIGKILL' })).toBe(true);
    expect(isFailure({ code: null, signal: 'SIGTERM' })).toBe(true);
    expect(isFailure({ code: 0, signal: null })).toBe(false);
  });

  it('hands the decision the exit as it was, but a clean one under restart = "always"', () => {
    const seen: ExitInfo[] = [];
    const parts = {
      decideRestart: ((policy, exit, ...rest) => {
        seen.push(exit);
        return decideRestart(policy, exit, ...rest);
      }) as typeof decideRestart,
      recordDeath,
      throttleStartMs,
    };
    const exits: ExitInfo[] = [
      { code: 3, signal: null },
      { code: null, signal: 'SIGSEGV' },
      { code: 0, signal: 'SIGKILL' },
      { code: 0, signal: null },
    ];
    for (const exit of exits) {
      nextIncarnation(
        {
          restart: defaultRestartPolicy(true),
          crashLoop: { deathsMax: 0, windowMs: 1000 },
          exit,
          runMs: 5,
          stopping: false,
          tally: { restarts: 0, backoffMs: 200 },
          deathsMs: [],
          nowMs: 1000,
          lastStartMs: null,
          always: true,
        },
        parts,
      );
    }
    expect(seen).toEqual([...exits.slice(0, 3), { code: null, signal: null }]);
  });
});

describe('groupMembers', () => {
  it('takes nothing of a group whose leader pid now belongs to a newer process', () => {
    const table = new Map<number, ProcEntry>([
      [10, { pid: 10, ppid: 1, pgid: 10, startTicks: 9, state: 'S' }],
      [11, { pid: 11, ppid: 10, pgid: 10, startTicks: 9, state: 'S' }],
    ]);
    expect(groupMembers(table, { pgid: 10, startTicks: 5 })).toEqual([]);
    expect(groupMembers(table, { pgid: 10, startTicks: 9 }).map((p) => p.pid)).toEqual([10, 11]);
  });
});

describe('defaultPolicy', () => {
  it('bundles the decisions the engine uses unless a policy is injected', () => {
    expect(defaultPolicy).toEqual({ decideRestart, recordDeath, throttleStartMs, evaluateQuota });
  });
});
