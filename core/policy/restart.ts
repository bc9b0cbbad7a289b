/**
 * The restart decision for one death. Signal deaths are failures; exit 0 ends
 * supervision; a death during an operator stop is never restarted.
 */

import type { RestartPolicy } from '../manifest/types.js';
import { nextBackoffMs, type Tally, tallyAfterRun } from './backoff.js';
import { permanentFailure } from './permafail.js';

export interface ExitInfo {
  code: number | null;
  signal: string | null;
}

export type DoneReason = 'stopped' | 'exit-0' | 'unsupervised';

export type RestartDecision =
  | { kind: 'restart'; delayMs: number; tally: Tally }
  | { kind: 'done'; reason: DoneReason }
  | { kind: 'give-up'; reason: 'restart_max' };

export function isFailure(exit: ExitInfo): boolean {
  return exit.signal !== null || exit.code !== 0;
}

export function decideRestart(
  policy: RestartPolicy,
  exit: ExitInfo,
  tally: Tally,
  runMs: number,
  stopping: boolean,
): RestartDecision {
  if (runMs < 0 || !Number.isInteger(runMs)) {
    throw new Error(`decideRestart: runMs must be a non-negative integer, got ${runMs}`);
  }
  if (stopping) return { kind: 'done', reason: 'stopped' };
  if (!isFailure(exit)) return { kind: 'done', reason: 'exit-0' };
  if (!policy.restartOnFailure) return { kind: 'done', reason: 'unsupervised' };
  const current = tallyAfterRun(tally, runMs, policy);
  if (permanentFailure(current.restarts, policy.restartMax)) {
    return { kind: 'give-up', reason: 'restart_max' };
  }
  const delayMs = current.backoffMs;
  const next: Tally = {
    restarts: current.restarts + 1,
    backoffMs: nextBackoffMs(delayMs, policy),
  };
  return { kind: 'restart', delayMs, tally: next };
}
