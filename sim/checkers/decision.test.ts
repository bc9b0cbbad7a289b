/**
 * The exact oracles against the hand-made mutants that once passed every seed: each broken
 * policy, injected like the canary's, must be caught within `npm run sim`'s default 2000 seeds
 * (the campaign stops at the first failure), by the checker that recomputes that decision.
 */

import type { SupervisorOptions } from '../../core/engine/api.js';
import { createSupervisor } from '../../core/engine/supervisor.js';
import { decideRestart, evaluateQuota, type Policy, recordDeath } from '../../core/policy/index.js';
import { runCampaign } from '../campaign.js';
import { resetAfterMsOf } from './types.js';

const SLOW_MS = 300_000;

const MUTANTS: Record<string, Partial<Policy>> = {
  /** `kept.length >= deathsMax`: the crash loop is declared one death early. */
  'crash-loop one death early': {
    recordDeath: (deathsMs, nowMs, policy) =>
      recordDeath(deathsMs, nowMs, { ...policy, deathsMax: policy.deathsMax - 1 }),
  },
  /** `runMs > reset_after`: a run of exactly reset_after keeps the tally. */
  'reset boundary': {
    decideRestart: (policy, exit, tally, runMs, stopping) =>
      decideRestart(
        { ...policy, resetAfterMs: resetAfterMsOf(policy) + 1 },
        exit,
        tally,
        runMs,
        stopping,
      ),
  },
  /** The stopping flag ignored: a death during a stop decides a restart. */
  'restart while stopping': {
    decideRestart: (policy, exit, tally, runMs) => decideRestart(policy, exit, tally, runMs, false),
  },
  /** `ms >= now - window`: a death exactly one window old still counts. */
  'crash-loop window edge': {
    recordDeath: (deathsMs, nowMs, policy) =>
      recordDeath(deathsMs, nowMs, { ...policy, windowMs: policy.windowMs + 1 }),
  },
  /** `usage >= limit`: memory exactly at the limit is a breach. */
  'memory breach at the limit': {
    evaluateQuota: (limits, usage, enforce) =>
      evaluateQuota(
        { ...limits, memBytes: limits.memBytes > 0 ? limits.memBytes - 1 : 0 },
        usage,
        enforce,
      ),
  },
};

describe('the exact oracles', () => {
  it.each([
    ['crash-loop one death early', 'decision'],
    ['reset boundary', 'decision'],
    ['restart while stopping', 'decision'],
    ['crash-loop window edge', 'decision'],
    ['memory breach at the limit', 'quota'],
  ] as const)(
    'catch the mutant "%s" with the %s checker within the default 2000 seeds',
    async (name, failure) => {
      const supervisorOptions: SupervisorOptions = { policy: MUTANTS[name] };
      const summary = await runCampaign({
        fromSeed: 1,
        count: 2000,
        createSupervisor,
        supervisorOptions,
        stopAtFirst: true,
      });
      expect(summary.failures[0]?.violation?.failure).toBe(failure);
    },
    SLOW_MS,
  );
});
