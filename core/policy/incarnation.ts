/**
 * The one restart decision, for commands and pipelines alike: what the next incarnation
 * of something that just died is, and what it carries forward. It folds, in this order:
 * 1. `decideRestart`: stopped / exit 0 / unsupervised end it (with restart = "always" a
 *    clean exit is decided like a failure); the backoff tally after the run (a run that
 *    outlived reset_after clears it); restart_max reached gives up;
 * 2. `recordDeath`: the crash-loop guard over the sliding window;
 * 3. `throttleStartMs`: never two starts closer than the minimum interval.
 * Each step is an injectable `Policy` part (the simulator's canary breaks one at a time).
 *
 * restart_max and the crash-loop guard, each what its name says: restart_max bounds the
 * consecutive restarts of one incident (it is checked first, so a bounded policy ends
 * with "restart_max reached — giving up"); the crash-loop guard bounds deaths within its
 * window across incidents (runs that reset the tally still count there). So that the
 * guard never pre-empts restart_max, its limit is at least restart_max (`crashLoopGuard`):
 * restart_max = 5 with the default guard (3 in 5 min) gives up at the sixth failure.
 */

import type { CrashLoopPolicy, RestartPolicy } from '../manifest/types.js';
import type { Tally } from './backoff.js';
import { recordDeath } from './intensity.js';
import { type DoneReason, decideRestart, type ExitInfo } from './restart.js';
import { throttleStartMs } from './throttle.js';

export interface DeathInput {
  restart: RestartPolicy;
  crashLoop: CrashLoopPolicy;
  exit: ExitInfo;
  /** How long the incarnation that died ran (0 for a spawn that failed). */
  runMs: number;
  /** Died during a stop (operator, workspace, daemon): never restarted. */
  stopping: boolean;
  tally: Tally;
  /** Deaths inside the crash-loop window so far, oldest first. */
  deathsMs: readonly number[];
  nowMs: number;
  lastStartMs: number | null;
  /** restart = "always": a clean exit is restarted too (default false). */
  always?: boolean;
}

export type Incarnation =
  | { kind: 'done'; reason: DoneReason }
  | { kind: 'give-up' }
  | { kind: 'crash-loop'; deaths: number }
  | { kind: 'backoff'; atMs: number; delayMs: number };

export interface NextIncarnation {
  next: Incarnation;
  /** The tally the next incarnation starts from (unchanged unless it restarts). */
  tally: Tally;
  /** The death window after this death (unchanged unless the death was a failure). */
  deathsMs: number[];
}

export interface IncarnationParts {
  decideRestart: typeof decideRestart;
  recordDeath: typeof recordDeath;
  throttleStartMs: typeof throttleStartMs;
}

const DEFAULT_PARTS: IncarnationParts = { decideRestart, recordDeath, throttleStartMs };

/** The crash-loop limit in force: never below restart_max (see the header). 0 stays off. */
export function crashLoopGuard(restart: RestartPolicy, crashLoop: CrashLoopPolicy) {
  // Stryker disable next-line EqualityOperator: at equality both branches give the same limit
  if (crashLoop.deathsMax === 0 || restart.restartMax <= crashLoop.deathsMax) return crashLoop;
  return { ...crashLoop, deathsMax: restart.restartMax };
}

/** What the decision sees of an exit: with restart = "always" a clean one counts too. */
const RESTARTABLE_EXIT = { code: null, signal: null };

export function nextIncarnation(
  input: DeathInput,
  parts: IncarnationParts = DEFAULT_PARTS,
): NextIncarnation {
  const { tally, nowMs } = input;
  const unchanged = { tally, deathsMs: [...input.deathsMs] };
  const clean = input.exit.code === 0 && input.exit.signal === null;
  const exit = input.always && clean ? RESTARTABLE_EXIT : input.exit;
  const decision = parts.decideRestart(input.restart, exit, tally, input.runMs, input.stopping);
  if (decision.kind === 'done')
    return { next: { kind: 'done', reason: decision.reason }, ...unchanged };
  if (decision.kind === 'give-up') return { next: { kind: 'give-up' }, ...unchanged };
  const crashLoop = crashLoopGuard(input.restart, input.crashLoop);
  const guard = parts.recordDeath(input.deathsMs, nowMs, crashLoop);
  if (guard.crashLoop) {
    const next = { kind: 'crash-loop' as const, deaths: guard.deathsMs.length };
    return { next, tally, deathsMs: guard.deathsMs };
  }
  const atMs = parts.throttleStartMs(input.lastStartMs, nowMs + decision.delayMs);
  const next = { kind: 'backoff' as const, atMs, delayMs: atMs - nowMs };
  return { next, tally: decision.tally, deathsMs: guard.deathsMs };
}
