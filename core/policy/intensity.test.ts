import {
  CRASH_LOOP_DEATHS_MAX,
  CRASH_LOOP_WINDOW_MS,
  defaultCrashLoopPolicy,
  recordDeath,
} from './intensity.js';

describe('crash-loop intensity', () => {
  const policy = defaultCrashLoopPolicy();

  it('defaults to more than 3 deaths within 300 s', () => {
    expect(policy).toEqual({ deathsMax: CRASH_LOOP_DEATHS_MAX, windowMs: CRASH_LOOP_WINDOW_MS });
    expect(policy).toEqual({ deathsMax: 3, windowMs: 300_000 });
  });

  it('trips on the fourth death within the window, not the third', () => {
    let deaths: number[] = [];
    const trips = [0, 1000, 2000, 3000].map((t) => {
      const r = recordDeath(deaths, t, policy);
      deaths = r.deathsMs;
      return r.crashLoop;
    });
    expect(trips).toEqual([false, false, false, true]);
  });

  it('forgets deaths older than the window', () => {
    const r = recordDeath([0, 1000, 2000], 301_000, policy);
    expect(r).toEqual({ deathsMs: [2000, 301_000], crashLoop: false });
  });

  it('keeps at most deathsMax + 1 entries', () => {
    const r = recordDeath([1, 2, 3, 4, 5, 6], 7, policy);
    expect(r.deathsMs).toEqual([4, 5, 6, 7]);
  });

  it('refuses time going backwards', () => {
    expect(() => recordDeath([500], 100, policy)).toThrow('backwards');
  });
});
