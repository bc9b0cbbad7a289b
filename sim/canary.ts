/**
 * The canary (TigerBeetle `fuzz_tests.zig` `.canary`): deliberately broken restart
 * policies injected through `SupervisorOptions.policy`. A simulator whose checkers let
 * one of them pass is broken; `npm run sim -- --canary` must exit non-zero.
 */

import type { SupervisorOptions } from '../core/engine/api.js';
import { decideRestart, evaluateQuota, type Policy, recordDeath } from '../core/policy/index.js';

/** Bug: a clean exit is restarted like a failure. */
const restartOnExitZero: Policy['decideRestart'] = (policy, exit, tally, runMs, stopping) => {
  if (!stopping && policy.restartOnFailure && exit.code === 0 && exit.signal === null) {
    return {
      kind: 'restart',
      delayMs: tally.backoffMs,
      tally: { ...tally, restarts: tally.restarts + 1 },
    };
  }
  return decideRestart(policy, exit, tally, runMs, stopping);
};

/** Bug: the backoff keeps doubling past its cap. */
const ignoreBackoffCap: Policy['decideRestart'] = (policy, exit, tally, runMs, stopping) => {
  const decision = decideRestart(policy, exit, tally, runMs, stopping);
  if (decision.kind !== 'restart') return decision;
  return { ...decision, tally: { ...decision.tally, backoffMs: decision.delayMs * 2 } };
};

/** Bug: the crash-loop guard never trips. */
const noCrashLoop: Policy['recordDeath'] = (deathsMs, nowMs, policy) => ({
  ...recordDeath(deathsMs, nowMs, policy),
  crashLoop: false,
});

/** Bug: a quota breach is reported but `kill` is downgraded to `log`. */
const neverKill: Policy['evaluateQuota'] = (limits, usage, enforce) => {
  const verdict = evaluateQuota(limits, usage, enforce);
  return verdict.action === 'kill' ? { ...verdict, action: 'log' } : verdict;
};

/** Bug: every restart fires 1 ms before its backoff (and the start throttle) ends. */
const noThrottle: Policy['throttleStartMs'] = (_lastStartMs, wantedAtMs) => wantedAtMs - 1;

/** Each broken policy, for the tests: every one must be caught by its checker. */
export const CANARIES = {
  'restart-on-exit-0': { policy: { decideRestart: restartOnExitZero } },
  'ignore-backoff-cap': { policy: { decideRestart: ignoreBackoffCap } },
  'no-crash-loop-guard': { policy: { recordDeath: noCrashLoop } },
  'quota-never-kills': { policy: { evaluateQuota: neverKill } },
  'restart-early': { policy: { throttleStartMs: noThrottle } },
} satisfies Record<string, SupervisorOptions>;

/** Both bugs at once: what `--canary` runs. */
export const CANARY_OPTIONS: SupervisorOptions = {
  policy: {
    decideRestart: (policy, exit, tally, runMs, stopping) =>
      exit.code === 0 && exit.signal === null
        ? restartOnExitZero(policy, exit, tally, runMs, stopping)
        : ignoreBackoffCap(policy, exit, tally, runMs, stopping),
  },
};

/**
 * A policy named so it can cross into a worker thread (functions cannot): the real engine,
 * `--canary`'s pair of bugs, or one of the CANARIES.
 */
export type PolicyChoice = 'engine' | 'canary' | keyof typeof CANARIES;

export function policyOptions(choice: PolicyChoice): SupervisorOptions | undefined {
  if (choice === 'engine') return undefined;
  return choice === 'canary' ? CANARY_OPTIONS : CANARIES[choice];
}
