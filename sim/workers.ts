/**
 * Worker operations of the workload (contract §9): declare a worker, push tasks (each a
 * `sim:task` whose stdin says how it ends), send a dead letter back, drop a worker. Workers
 * are named by index modulo the workers the daemon lists when the operation runs, so any
 * sub-list of operations stays valid (the shrinker drops operations freely).
 */

import type { Supervisor } from '../core/engine/api.js';
import type { WorkerSpec } from '../core/manifest/worker.js';
import type { Prng } from './prng.js';
import type { SimQueueStore } from './queue-store.js';
import type { Trace } from './trace.js';

/** What a worker operation needs of the seed's run (a SeedRun, without importing it). */
export interface WorkerRun {
  sup: Supervisor;
  model: { workspaces: readonly { id: string }[] };
  world: { trace: Trace; queue: SimQueueStore };
}

export type WorkerOp =
  | {
      kind: 'create-worker';
      ws: number;
      name: number;
      backoffMs: number;
      timeoutMs: number;
      crashLoopMax: number;
    }
  /** Each task is `afterMs code`: the script its process follows. */
  | { kind: 'push-tasks'; worker: number; tasks: string[] }
  | { kind: 'retry-dead'; worker: number }
  | { kind: 'drop-worker'; worker: number; force: boolean };

function drawTask(prng: Prng): string {
  const roll = prng.int(100);
  if (roll < 70) return `${prng.range(0, 300)} 0`;
  if (roll < 85) return `${prng.range(0, 500)} ${prng.range(1, 3)}`;
  if (roll < 95) return `${prng.range(1000, 5000)} 0`;
  return '0 7';
}

export function drawCreateWorker(prng: Prng): WorkerOp {
  return {
    kind: 'create-worker',
    ws: prng.int(64),
    name: prng.int(4),
    backoffMs: prng.pick([10, 50, 200]),
    timeoutMs: prng.pick([0, 0, 500, 2000]),
    crashLoopMax: prng.pick([1, 3, 5]),
  };
}

export function drawPushTasks(prng: Prng): WorkerOp {
  const n = prng.pick([1, 1, 2, 5, 20]);
  return {
    kind: 'push-tasks',
    worker: prng.int(64),
    tasks: Array.from({ length: n }, () => drawTask(prng)),
  };
}

export const drawRetryDead = (prng: Prng): WorkerOp => ({
  kind: 'retry-dead',
  worker: prng.int(64),
});

export const drawDropWorker = (prng: Prng): WorkerOp => ({
  kind: 'drop-worker',
  worker: prng.int(64),
  force: prng.int(3) !== 0,
});

function workerName(sup: Supervisor, index: number): string | null {
  const names = (sup.listWorkers?.() ?? []).map((w) => w.name).sort();
  return names.length === 0 ? null : (names[index % names.length] ?? null);
}

function createWorker(run: WorkerRun, op: Extract<WorkerOp, { kind: 'create-worker' }>): void {
  const ws = run.model.workspaces[op.ws % Math.max(1, run.model.workspaces.length)];
  if (!ws || !run.sup.createWorker) return;
  const spec: WorkerSpec = {
    name: `w${op.name}`,
    exec: 'sim:task',
    argv: [],
    envp: [],
    cwd: '',
    backoffMsInitial: op.backoffMs,
    backoffMsMax: op.backoffMs * 10,
    timeoutMs: op.timeoutMs,
    crashLoopMax: op.crashLoopMax,
    crashLoopWindowMs: 300_000,
  };
  const r = run.sup.createWorker(ws.id, spec);
  run.world.trace.add(() => `  → create worker w${op.name}: ${r.ok ? 'ok' : r.error.message}`);
}

/** Pushes are not awaited: they are acknowledged when the group commit runs (a timer). */
function pushTasks(run: WorkerRun, op: Extract<WorkerOp, { kind: 'push-tasks' }>): void {
  const name = workerName(run.sup, op.worker);
  if (name === null || !run.sup.pushTask) return;
  const queue = run.world.queue;
  for (const task of op.tasks) {
    const bytes = new TextEncoder().encode(task);
    void run.sup.pushTask(name, bytes).then((r) => {
      if (r.ok) queue.ack(r.value.id, name);
      run.world.trace.add(
        () => `  → push ${name} "${task}": ${r.ok ? r.value.id : r.error.message}`,
      );
    });
  }
}

function retryDead(run: WorkerRun, op: Extract<WorkerOp, { kind: 'retry-dead' }>): void {
  const name = workerName(run.sup, op.worker);
  if (name === null || !run.sup.listTasks || !run.sup.retryTask) return;
  const dead = run.sup.listTasks(name, { dead: true });
  const first = dead.ok ? dead.value[0] : undefined;
  if (!first) return;
  const r = run.sup.retryTask(name, first.id);
  run.world.trace.add(() => `  → retry ${name} ${first.id}: ${r.ok ? 'ok' : r.error.message}`);
}

function dropWorker(run: WorkerRun, op: Extract<WorkerOp, { kind: 'drop-worker' }>): void {
  const name = workerName(run.sup, op.worker);
  if (name === null || !run.sup.dropWorker) return;
  void run.sup.dropWorker(name, { force: op.force }).then((r) => {
    run.world.trace.add(() => `  → drop ${name}: ${r.ok ? 'ok' : r.error.message}`);
  });
}

export function executeWorkerOp(run: WorkerRun, op: WorkerOp): void {
  if (op.kind === 'create-worker') createWorker(run, op);
  else if (op.kind === 'push-tasks') pushTasks(run, op);
  else if (op.kind === 'retry-dead') retryDead(run, op);
  else dropWorker(run, op);
}
