/** What `worker ls` and the API show of a worker: plain data built from its record. */

import type { WorkerSpec } from '../manifest/worker.js';
import type { DeadLetter, TaskResult, WorkerCounters } from '../ports.js';
import { killGraceMsOf, type WorkerRec, type WorkerState } from './worker.js';

/** The worker's spec (what it runs, its retry policy) and its state. */
export interface WorkerView extends WorkerSpec {
  workspaceId: string;
  state: WorkerState;
  /** Tasks queued, the running one included. */
  depth: number;
  running: { taskId: string; pid: number; attempt: number } | null;
  /**
   * The next task's process, prepared while the current one runs: set up and held before
   * its exec (it runs nothing until it is started). Null when none is.
   */
  prepared: { taskId: string; pid: number; attempt: number } | null;
  pushed: number;
  done: number;
  failed: number;
  dead: number;
  last: (TaskResult & { taskId: string }) | null;
  deadLetters: { id: string; attempt: number; last: TaskResult }[];
  /** Why delivery waits, when it waits for something other than a backoff. */
  held: string | null;
}

export function workerView(
  rec: WorkerRec,
  depth: number,
  counters: WorkerCounters,
  dead: DeadLetter[],
  prepared: WorkerView['prepared'] = null,
): WorkerView {
  const { def } = rec;
  const running =
    rec.state !== 'idle' && rec.head && rec.pid !== null
      ? { taskId: rec.head.id, pid: rec.pid, attempt: rec.attempt }
      : null;
  return {
    name: def.name,
    workspaceId: def.wsId,
    state: rec.state,
    depth,
    running,
    prepared,
    pushed: counters.pushed,
    done: counters.done,
    failed: counters.failed,
    dead: counters.dead,
    last: counters.last,
    deadLetters: dead.map((d) => ({ id: d.id, attempt: d.attempt, last: d.last })),
    held: rec.held,
    exec: def.exec,
    argv: def.argv,
    envp: def.env,
    cwd: def.cwd,
    backoffMsInitial: def.backoffMsInitial,
    backoffMsMax: def.backoffMsMax,
    timeoutMs: def.timeoutMs,
    killGraceMs: killGraceMsOf(def),
    crashLoopMax: def.crashLoopMax,
    crashLoopWindowMs: def.crashLoopWindowMs,
  };
}
