import { createSupervisor } from '../core/engine/supervisor.js';
import { runCampaign } from './campaign.js';
import { CANARIES } from './canary.js';
import { EXIT_CODES } from './checkers/index.js';
import { runSeed } from './runner.js';
import { shrink } from './shrink.js';

const SLOW_MS = 120_000;

describe('runSeed', () => {
  it.each([[1], [17], [123456789]])(
    'gives the same trace twice for seed %d',
    async (seed) => {
      const a = await runSeed({ seed, createSupervisor, trace: true });
      const b = await runSeed({ seed, createSupervisor, trace: true });
      expect(a.trace.length).toBeGreaterThan(20);
      expect(b.trace).toEqual(a.trace);
      expect(b.violation).toEqual(a.violation);
    },
    SLOW_MS,
  );

  it('gives the same digest twice for a seed, and another for another seed', async () => {
    const a = await runSeed({ seed: 3, createSupervisor, digest: true });
    const b = await runSeed({ seed: 3, createSupervisor, digest: true });
    const c = await runSeed({ seed: 4, createSupervisor, digest: true });
    expect(a.digest).toMatch(/^[0-9a-f]{32}$/);
    expect(b.digest).toBe(a.digest);
    expect(c.digest).not.toBe(a.digest);
    expect((await runSeed({ seed: 3, createSupervisor })).digest).toBeNull();
  });

  it('replays only the kept operations of a workload', async () => {
    const result = await runSeed({ seed: 5, createSupervisor, keep: new Set([0, 2]) });
    expect(result.ran).toEqual([0, 2]);
  });
});

describe('the canary', () => {
  // The decision checker recomputes every restart decision at the death itself, so it is
  // the first to see a broken restart policy (before the restart it leads to, or not).
  it.each([
    ['restart-on-exit-0', 'decision'],
    ['ignore-backoff-cap', 'decision'],
    ['no-crash-loop-guard', 'decision'],
    ['quota-never-kills', 'quota'],
    ['restart-early', 'decision'],
  ] as const)(
    'catches the broken policy %s with the %s checker',
    async (name, failure) => {
      const summary = await runCampaign({
        fromSeed: 1,
        count: 300,
        createSupervisor,
        supervisorOptions: CANARIES[name],
        stopAtFirst: true,
      });
      const violation = summary.failures[0]?.violation;
      expect(violation?.failure).toBe(failure);
      expect(violation?.exitCode).toBe(EXIT_CODES[failure]);
    },
    SLOW_MS,
  );
});

describe('a small campaign', () => {
  it(
    'passes 50 seeds with the real engine',
    async () => {
      const summary = await runCampaign({ fromSeed: 1, count: 50, createSupervisor });
      const failures = summary.failures.map(
        (f) => `seed ${f.seed}: ${f.violation?.failure}: ${f.violation?.message}`,
      );
      expect(failures).toEqual([]);
      expect(summary.lifecycles).toBeGreaterThan(500);
    },
    SLOW_MS,
  );
});

describe('shrink', () => {
  it(
    'finds a shorter workload that still fails the same way',
    async () => {
      const supervisorOptions = CANARIES['restart-on-exit-0'];
      const campaign = await runCampaign({
        fromSeed: 1,
        count: 300,
        createSupervisor,
        supervisorOptions,
        stopAtFirst: true,
      });
      const failed = campaign.failures[0]!;
      expect(failed.violation?.failure).toBe('decision');
      const base = { seed: failed.seed, createSupervisor, supervisorOptions };
      const shrunk = await shrink(base, failed, { attemptsMax: 200, wallMsMax: 30_000 });
      expect(shrunk.keep.length).toBeLessThan(failed.ran.length);
      expect(shrunk.result.violation?.failure).toBe('decision');
      const replayed = await runSeed({ ...base, keep: new Set(shrunk.keep) });
      expect(replayed.violation?.failure).toBe('decision');
    },
    SLOW_MS,
  );
});
