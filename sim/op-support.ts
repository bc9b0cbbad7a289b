/** Helpers shared by the workload's executors (execute.ts, apply.ts). */

import type { ApiResult } from '../core/engine/api.js';
import type { KeyFact, WsFact } from './model.js';
import type { SeedRun } from './seed.js';
import { ViolationError } from './seed.js';

export const pick = <T>(items: readonly T[], index: number): T | undefined =>
  items.length === 0 ? undefined : items[index % items.length];

/** Codes of a refusal answered before anything happened (nothing was restarted). */
export const REFUSED_UP_FRONT = new Set(['unavailable', 'not_found']);

export const cover = (run: SeedRun, what: string): void => {
  run.coverage.set(what, (run.coverage.get(what) ?? 0) + 1);
};

export const note = (run: SeedRun, what: string, result: ApiResult<unknown>): void => {
  run.world.trace.add(
    () => `  → ${what}: ${result.ok ? 'ok' : `${result.error.code}: ${result.error.message}`}`,
  );
};

/** Track a stop the engine settles later: liveness checks it settles in time. */
export function trackStop(
  run: SeedRun,
  what: string,
  graceMs: number,
  promise: Promise<ApiResult<unknown>>,
  onDone: (ok: boolean) => void,
): void {
  const stop = { what, gen: run.gen, atMs: run.world.clock.nowMs(), graceMs, done: false };
  run.pendingStops.push(stop);
  promise.then(
    (result) => {
      stop.done = true;
      note(run, `${what} resolved`, result);
      onDone(result.ok);
    },
    (error: unknown) => {
      stop.done = true;
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      run.deferred ??= new ViolationError('engine-threw', `${what} rejected: ${message}`);
    },
  );
}

/** Record a stop request; returns an undo for a stop the engine refused. */
export function markStop(run: SeedRun, fact: WsFact | KeyFact, graceMs: number): () => void {
  if (fact.stopAtMs !== null && fact.stopGen === run.gen) return () => {};
  fact.stopAtMs = run.world.clock.nowMs();
  fact.stopGen = run.gen;
  fact.stopSeq = run.world.kernel.seq;
  fact.stopGraceMs = graceMs;
  const seq = fact.stopSeq;
  return () => {
    if (fact.stopSeq !== seq || fact.stopDoneAtMs !== null) return;
    fact.stopAtMs = null;
    fact.stopGen = null;
  };
}
