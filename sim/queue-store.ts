/**
 * SimQueueStore — the workers' queue database behind the QueueStore port, in memory.
 *
 * The real store (SQLite in WAL mode, synchronous=FULL) commits each call as one
 * transaction: after ok the change is on disk, after an error nothing of it is, and a
 * crash leaves every transaction whole or absent. Fault model:
 * - `queue-fail`: a commit fails (SQLITE_FULL or an I/O error) and returns an error;
 *   nothing of it is stored. Survivable: a push is refused to its caller (never
 *   acknowledged); a failed record after an exit leaves the task at the head, and the
 *   worker tries again after a backoff.
 * - `queue-crash`: the daemon dies during a commit (a torn commit): the transaction is
 *   durable or not — whole either way — and the caller never learns which. Survivable: an
 *   unacknowledged push may exist or not; a removal that did not land means the task is
 *   delivered again (at-least-once, with its attempt raised).
 * - `queue-crash-done`: the daemon dies between a task's exit 0 and the commit of its
 *   removal. Survivable the same way: the task is still queued and runs again.
 * Reads never fail. What the checkers read (completions, finish order, delivery starts)
 * is part of the stored state, so it rolls back with a commit that did not land.
 */

import type {
  DeadLetter,
  PortError,
  PortResult,
  QueuePush,
  QueueStore,
  TaskResult,
  TaskRow,
  WorkerCounters,
  WorkerDef,
} from '../core/ports.js';
import type { Faults } from './faults.js';
import type { Trace } from './trace.js';

interface Db {
  workers: Map<string, WorkerDef>;
  tasks: TaskRow[];
  dead: DeadLetter[];
  counters: Map<string, WorkerCounters>;
  seq: number;
  /** Task id → kernel sequence number when its removal after exit 0 was committed. */
  completed: Map<string, number>;
  /** Per worker: seqs of tasks finished (done or dead), in commit order. */
  finished: Map<string, number[]>;
  /** Delivery starts committed: was the task the head of its worker's queue? */
  starts: { taskId: string; worker: string; attempt: number; head: boolean }[];
  /** Drops per worker name: a task pushed before its worker's drop is gone by request. */
  drops: Map<string, number>;
  /** Task id → the drops of its worker when it was pushed. */
  pushedAtDrops: Map<string, number>;
}

const emptyDb = (): Db => ({
  workers: new Map(),
  tasks: [],
  dead: [],
  counters: new Map(),
  seq: 0,
  completed: new Map(),
  finished: new Map(),
  starts: [],
  drops: new Map(),
  pushedAtDrops: new Map(),
});

function cloneDb(db: Db): Db {
  return {
    workers: new Map(db.workers),
    tasks: db.tasks.map((t) => ({ ...t })),
    dead: [...db.dead],
    counters: new Map([...db.counters].map(([k, v]) => [k, { ...v }])),
    seq: db.seq,
    completed: new Map(db.completed),
    finished: new Map([...db.finished].map(([k, v]) => [k, [...v]])),
    starts: [...db.starts],
    drops: new Map(db.drops),
    pushedAtDrops: new Map(db.pushedAtDrops),
  };
}

const err = (method: string, reason: PortError['reason'], message: string): PortError => ({
  _tag: 'PortError',
  port: 'QueueStore',
  method,
  reason,
  message,
});

const isErr = (v: unknown): v is PortError =>
  typeof v === 'object' && v !== null && (v as { _tag?: unknown })._tag === 'PortError';

export class SimQueueStore {
  db: Db = emptyDb();
  /** Task ids whose push was acknowledged to a caller (filled in by the workload: `ack`). */
  readonly acked = new Map<string, string>();
  /** Acknowledgements so far: `acked` is as it was while this stays the same. */
  acks = 0;
  commits = 0;

  constructor(
    private readonly faults: Faults,
    private readonly trace: Trace,
    private readonly isAlive: (gen: number) => boolean,
    private readonly crash: (gen: number) => void,
    /** The kernel's spawn sequence number now (orders completions against deliveries). */
    private readonly kernelSeq: () => number,
  ) {}

  /** One transaction: fails, tears, or lands whole. */
  private commit<T>(
    gen: number,
    method: string,
    body: (db: Db) => T | PortError,
    onLand: () => void = () => {},
  ): PortResult<T> {
    if (!this.isAlive(gen)) return { ok: false, error: err(method, 'Unknown', 'daemon is gone') };
    if (this.faults.roll('queue-fail')) {
      this.trace.add(() => `fault queue-fail: ${method} refused, nothing stored`);
      const full = this.faults.amount(0, 1) === 0;
      const message = full ? 'database or disk is full (SQLITE_FULL)' : 'disk I/O error';
      return { ok: false, error: err(method, full ? 'LimitExceeded' : 'Unknown', message) };
    }
    const draft = cloneDb(this.db);
    const value = body(draft);
    if (isErr(value)) return { ok: false, error: value };
    if (method === 'complete' && this.faults.roll('queue-crash-done')) {
      this.trace.add(() => 'fault queue-crash-done: daemon dies after exit 0, before removal');
      this.crash(gen);
      return { ok: false, error: err(method, 'Unknown', 'daemon crashed before the commit') };
    }
    if (this.faults.roll('queue-crash')) {
      const landed = this.faults.amount(0, 1) === 1;
      if (landed) {
        this.db = draft;
        onLand();
      }
      this.trace.add(() => `fault queue-crash: daemon dies mid-${method}, landed=${landed}`);
      this.crash(gen);
      return { ok: false, error: err(method, 'Unknown', 'daemon crashed during the commit') };
    }
    this.db = draft;
    onLand();
    this.commits += 1;
    return { ok: true, value };
  }

  /** The push of task `id` to `worker` was acknowledged to its caller. */
  ack(id: string, worker: string): void {
    this.acked.set(id, worker);
    this.acks += 1;
  }

  /** Whether task `id` was pushed before its worker was dropped (gone by request). */
  droppedSince(id: string, worker: string): boolean {
    const at = this.db.pushedAtDrops.get(id);
    return at !== undefined && at !== (this.db.drops.get(worker) ?? 0);
  }

  port(gen: number): QueueStore {
    return {
      workers: () => ({ ok: true, value: [...this.db.workers.values()] }),
      createWorker: (def) => this.commit(gen, 'createWorker', (db) => createWorker(db, def)),
      dropWorker: (name) => this.commit(gen, 'dropWorker', (db) => dropWorker(db, name)),
      push: (items) => this.commit(gen, 'push', (db) => push(db, items)),
      head: (w) => ({ ok: true, value: this.db.tasks.find((t) => t.worker === w) ?? null }),
      next: (w, after) => ({
        ok: true,
        value: this.db.tasks.find((t) => t.worker === w && t.seq > after) ?? null,
      }),
      startAttempt: (w, id) => this.commit(gen, 'startAttempt', (db) => startAttempt(db, w, id)),
      complete: (w, id, r) =>
        this.commit(gen, 'complete', (db) => finish(db, w, id, r, 'done', this.kernelSeq())),
      fail: (w, id, r) => this.commit(gen, 'fail', (db) => fail(db, w, id, r)),
      bury: (w, id, r) => this.commit(gen, 'bury', (db) => finish(db, w, id, r, 'dead', 0)),
      retry: (w, id) => this.commit(gen, 'retry', (db) => retry(db, w, id)),
      tasks: (w, limit) => ({
        ok: true,
        value: this.db.tasks.filter((t) => t.worker === w).slice(0, limit),
      }),
      dead: (w, limit) => ({
        ok: true,
        value: this.db.dead.filter((t) => t.worker === w).slice(0, limit),
      }),
      depth: (w) => ({ ok: true, value: this.db.tasks.filter((t) => t.worker === w).length }),
      counters: (w) => ({ ok: true, value: { ...(this.db.counters.get(w) ?? zero()) } }),
    };
  }
}

const zero = (): WorkerCounters => ({ pushed: 0, done: 0, failed: 0, dead: 0, last: null });

function createWorker(db: Db, def: WorkerDef): true | PortError {
  if (db.workers.has(def.name)) return err('createWorker', 'Exists', `worker ${def.name} exists`);
  db.workers.set(def.name, def);
  db.counters.set(def.name, zero());
  return true;
}

function dropWorker(db: Db, name: string): { tasks: number; dead: number } | PortError {
  if (!db.workers.has(name)) return err('dropWorker', 'NotFound', `no worker "${name}"`);
  const tasks = db.tasks.filter((t) => t.worker === name).length;
  const dead = db.dead.filter((t) => t.worker === name).length;
  db.tasks = db.tasks.filter((t) => t.worker !== name);
  db.dead = db.dead.filter((t) => t.worker !== name);
  db.workers.delete(name);
  db.counters.delete(name);
  db.drops.set(name, (db.drops.get(name) ?? 0) + 1);
  return { tasks, dead };
}

function push(db: Db, items: QueuePush[]): { seqs: number[] } | PortError {
  const seqs: number[] = [];
  for (const item of items) {
    if (!db.workers.has(item.worker)) return err('push', 'NotFound', `no worker ${item.worker}`);
    db.seq += 1;
    seqs.push(db.seq);
    db.tasks.push({
      id: item.id,
      worker: item.worker,
      seq: db.seq,
      payload: item.payload,
      attempt: 0,
      state: 'queued',
      pushedAtWallMs: item.pushedAtWallMs,
    });
    const c = db.counters.get(item.worker) as WorkerCounters;
    c.pushed += 1;
    db.pushedAtDrops.set(item.id, db.drops.get(item.worker) ?? 0);
  }
  return { seqs };
}

function findTask(db: Db, method: string, worker: string, id: string): TaskRow | PortError {
  const t = db.tasks.find((x) => x.id === id && x.worker === worker);
  return t ?? err(method, 'NotFound', `no task ${id} in "${worker}"`);
}

function startAttempt(db: Db, worker: string, id: string): { attempt: number } | PortError {
  const t = findTask(db, 'startAttempt', worker, id);
  if (isErr(t)) return t;
  t.attempt += 1;
  t.state = 'running';
  const head = db.tasks.find((x) => x.worker === worker)?.id === id;
  db.starts.push({ taskId: id, worker, attempt: t.attempt, head });
  return { attempt: t.attempt };
}

function finish(
  db: Db,
  worker: string,
  id: string,
  result: TaskResult,
  outcome: 'done' | 'dead',
  kernelSeq: number,
): true | PortError {
  const t = findTask(db, outcome === 'done' ? 'complete' : 'bury', worker, id);
  if (isErr(t)) return t;
  db.tasks = db.tasks.filter((x) => x !== t);
  const c = db.counters.get(worker) as WorkerCounters;
  if (outcome === 'done') {
    c.done += 1;
    db.completed.set(id, kernelSeq);
  } else {
    c.failed += 1;
    c.dead += 1;
    db.dead.push({ ...t, state: 'queued', last: result });
  }
  c.last = { ...result, taskId: id };
  db.finished.set(worker, [...(db.finished.get(worker) ?? []), t.seq]);
  return true;
}

function fail(db: Db, worker: string, id: string, result: TaskResult): true | PortError {
  const t = findTask(db, 'fail', worker, id);
  if (isErr(t)) return t;
  t.state = 'queued';
  const c = db.counters.get(worker) as WorkerCounters;
  c.failed += 1;
  c.last = { ...result, taskId: id };
  return true;
}

function retry(db: Db, worker: string, id: string): TaskRow | PortError {
  const d = db.dead.find((x) => x.id === id && x.worker === worker);
  if (!d) return err('retry', 'NotFound', `no dead letter ${id} in worker "${worker}"`);
  db.dead = db.dead.filter((x) => x !== d);
  db.seq += 1;
  const { last: _last, ...row } = d;
  const task: TaskRow = { ...row, seq: db.seq, state: 'queued' };
  db.tasks.push(task);
  return task;
}
