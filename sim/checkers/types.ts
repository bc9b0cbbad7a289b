/** What every checker sees after each step, and the failure classes with their exit codes. */

import type { Supervisor } from '../../core/engine/api.js';
import type { SpawnRecord } from '../kernel.js';
import type { KeyFact, Model } from '../model.js';
import type { RestartObservation, Timeline } from '../timeline.js';
import type { SimWorld } from '../world.js';

/** One exit code per failure class (STYLE sim/5). 0 = pass, 1 = usage or internal error. */
export const EXIT_CODES = {
  backoff: 10,
  'restart-limit': 11,
  'exit-zero': 12,
  stop: 13,
  quota: 14,
  ttl: 15,
  restore: 16,
  orphan: 17,
  liveness: 18,
  'engine-threw': 19,
  contract: 20,
  watchdog: 21,
  placement: 22,
  services: 23,
  decision: 24,
  'queue-order': 25,
  'queue-single': 26,
  'queue-durable': 27,
  'queue-rerun': 28,
  apply: 29,
} as const;

export type FailureClass = keyof typeof EXIT_CODES;

export interface CheckContext {
  world: SimWorld;
  model: Model;
  sup: Supervisor;
  gen: number;
  /** When the running daemon generation started. */
  genStartedAtMs: number;
  nowMs: number;
  sampleEveryMs: number;
  deadCommandsMax: number;
  timeline: Timeline;
  /** Restarts and spawns revealed since the previous check. */
  restarts: readonly RestartObservation[];
  spawns: readonly SpawnRecord[];
  /** Count one verified instance of `what` (coverage in the summary). */
  cover(what: string): void;
}

export interface Checker {
  readonly name: FailureClass;
  /** Checked after every step; returns a violation message or null. */
  check(ctx: CheckContext): string | null;
  /** Called on the dead daemon's supervisor, just before the next one starts. */
  beforeRestore?(ctx: CheckContext): void;
  /** Called once the new daemon has started and relaunched what it restores. */
  afterRestore?(ctx: CheckContext): string | null;
}

/**
 * An operator restart of `key` requested between two spawns (kernel record sequence
 * numbers) exempts the second spawn from the restart policy.
 */
export function operatorRestartBetween(
  fact: KeyFact | undefined,
  fromSeq: number,
  toSeq: number,
): boolean {
  return fact?.operatorRestartSeqs.some((seq) => seq >= fromSeq && seq < toSeq) ?? false;
}

/** An operator restart of `key` requested at or after kernel record `seq`. */
export function operatorRestartSince(fact: KeyFact, seq: number): boolean {
  // A loop, not `some` with a closure: asked for every live process after every step.
  for (const at of fact.operatorRestartSeqs) if (at >= seq) return true;
  return false;
}

/** The first violation `observe` finds among the restarts revealed since the previous check. */
export function firstRestartViolation(
  ctx: CheckContext,
  observe: (obs: RestartObservation) => string | null,
): string | null {
  for (const obs of ctx.restarts) {
    const message = observe(obs);
    if (message !== null) return message;
  }
  return null;
}

const RESET_AFTER_MS_DEFAULT = 10_000;

/** How long a run must last to clear the restart tally: reset_after, 0 meaning 10 s. */
export function resetAfterMsOf(policy: { resetAfterMs: number }): number {
  return policy.resetAfterMs > 0 ? policy.resetAfterMs : RESET_AFTER_MS_DEFAULT;
}
