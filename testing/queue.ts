/**
 * An in-memory QueueStore for the engine's own tests: every write is one transaction that
 * lands whole or not at all, with the production store's meaning (push order, attempts,
 * dead letters, counters). A test can make the next call of a method fail, and can hold
 * pushes until it settles a `sync` (the group commit the daemon's store does in its thread
 * pool). Pure: no disk, no time.
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

const zero = (): WorkerCounters => ({ pushed: 0, done: 0, failed: 0, dead: 0, last: null });

export class MemoryQueue implements QueueStore {
  readonly defs = new Map<string, WorkerDef>();
  rows: TaskRow[] = [];
  deadRows: DeadLetter[] = [];
  readonly counts = new Map<string, WorkerCounters>();
  /** Method names whose next call fails (once each), with nothing stored. */
  readonly failNext = new Set<string>();
  /** Every write that landed, in order (`method worker task`). */
  readonly writes: string[] = [];
  private seq = 0;
  private durableSeq = 0;
  private readonly syncs: ((r: PortResult<true>) => void)[] = [];
  sync?: (done: (result: PortResult<true>) => void) => void;

  /** `deferSync`: pushes are durable (deliverable) only once a `sync` was settled ok. */
  constructor(options: { deferSync?: boolean } = {}) {
    if (options.deferSync) this.sync = (done) => this.syncs.push(done);
  }

  /** Reports the oldest pending `sync` (ok: every push before it becomes durable). */
  settleSync(ok = true): void {
    const done = this.syncs.shift();
    if (!done) throw new Error('memory queue: no sync pending');
    if (ok) this.durableSeq = this.seq;
    done(ok ? { ok: true, value: true } : { ok: false, error: this.error('sync', 'disk I/O') });
  }

  get pendingSyncs(): number {
    return this.syncs.length;
  }

  private error(method: string, message: string): PortError {
    return { _tag: 'PortError', port: 'QueueStore', method, reason: 'Unknown', message };
  }

  private write<T>(method: string, what: string, body: () => T | PortError): PortResult<T> {
    if (this.failNext.delete(method)) {
      return { ok: false, error: this.error(method, `${method} failed (injected)`) };
    }
    const saved = { rows: this.rows.map((r) => ({ ...r })), dead: [...this.deadRows] };
    const counts = new Map([...this.counts].map(([k, v]) => [k, { ...v }]));
    const value = body();
    if (typeof value === 'object' && value !== null && '_tag' in value) {
      this.rows = saved.rows;
      this.deadRows = saved.dead;
      this.counts.clear();
      for (const [k, v] of counts) this.counts.set(k, v);
      return { ok: false, error: value as PortError };
    }
    this.writes.push(`${method} ${what}`.trim());
    return { ok: true, value: value as T };
  }

  private notFound(method: string, message: string): PortError {
    return { _tag: 'PortError', port: 'QueueStore', method, reason: 'NotFound', message };
  }

  private task(method: string, worker: string, id: string): TaskRow | PortError {
    const t = this.rows.find((r) => r.worker === worker && r.id === id);
    return t ?? this.notFound(method, `no task ${id} in "${worker}"`);
  }

  private count(worker: string, field: 'pushed' | 'done' | 'failed' | 'dead', by = 1): void {
    const c = this.counts.get(worker) ?? zero();
    c[field] += by;
    this.counts.set(worker, c);
  }

  /** A read made to fail by `failNext`, or its value. */
  private read<T>(method: string, value: () => T): PortResult<T> {
    if (this.failNext.delete(method)) {
      return { ok: false, error: this.error(method, `${method} failed (injected)`) };
    }
    return { ok: true, value: value() };
  }

  workers(): PortResult<WorkerDef[]> {
    return this.read('workers', () => [...this.defs.values()]);
  }

  createWorker(def: WorkerDef): PortResult<true> {
    return this.write('createWorker', def.name, () => {
      if (this.defs.has(def.name)) {
        const exists: PortError = this.notFound('createWorker', `worker ${def.name} exists`);
        return { ...exists, reason: 'Exists' } satisfies PortError as PortError;
      }
      this.defs.set(def.name, def);
      this.counts.set(def.name, zero());
      return true as const;
    });
  }

  dropWorker(name: string): PortResult<{ tasks: number; dead: number }> {
    return this.write('dropWorker', name, () => {
      if (!this.defs.delete(name)) return this.notFound('dropWorker', `no worker "${name}"`);
      const tasks = this.rows.filter((r) => r.worker === name).length;
      const dead = this.deadRows.filter((r) => r.worker === name).length;
      this.rows = this.rows.filter((r) => r.worker !== name);
      this.deadRows = this.deadRows.filter((r) => r.worker !== name);
      this.counts.delete(name);
      return { tasks, dead };
    });
  }

  push(items: QueuePush[]): PortResult<{ seqs: number[] }> {
    return this.write('push', items.map((i) => i.id).join(','), () => {
      const seqs = items.map((item) => {
        this.seq += 1;
        const { worker, id, payload, pushedAtWallMs } = item;
        this.rows.push({
          id,
          worker,
          seq: this.seq,
          payload,
          attempt: 0,
          state: 'queued',
          pushedAtWallMs,
        });
        this.count(worker, 'pushed');
        return this.seq;
      });
      if (!this.sync) this.durableSeq = this.seq;
      return { seqs };
    });
  }

  head(worker: string): PortResult<TaskRow | null> {
    return this.read('head', () => {
      const t = this.rows.find((r) => r.worker === worker && r.seq <= this.durableSeq);
      return t ? { ...t } : null;
    });
  }

  startAttempt(worker: string, taskId: string): PortResult<{ attempt: number }> {
    return this.write('startAttempt', `${worker} ${taskId}`, () => {
      const t = this.task('startAttempt', worker, taskId);
      if ('_tag' in t) return t;
      t.attempt += 1;
      t.state = 'running';
      return { attempt: t.attempt };
    });
  }

  private ended(method: string, worker: string, taskId: string, result: TaskResult) {
    const t = this.task(method, worker, taskId);
    if ('_tag' in t) return t;
    const c = this.counts.get(worker) ?? zero();
    c.last = { ...result, taskId };
    this.counts.set(worker, c);
    return t;
  }

  complete(worker: string, taskId: string, result: TaskResult): PortResult<true> {
    return this.write('complete', `${worker} ${taskId}`, () => {
      const t = this.ended('complete', worker, taskId, result);
      if ('_tag' in t) return t;
      this.rows = this.rows.filter((r) => r !== t);
      this.count(worker, 'done');
      return true as const;
    });
  }

  fail(worker: string, taskId: string, result: TaskResult): PortResult<true> {
    return this.write('fail', `${worker} ${taskId}`, () => {
      const t = this.ended('fail', worker, taskId, result);
      if ('_tag' in t) return t;
      t.state = 'queued';
      this.count(worker, 'failed');
      return true as const;
    });
  }

  bury(worker: string, taskId: string, result: TaskResult): PortResult<true> {
    return this.write('bury', `${worker} ${taskId}`, () => {
      const t = this.ended('bury', worker, taskId, result);
      if ('_tag' in t) return t;
      this.rows = this.rows.filter((r) => r !== t);
      this.deadRows.push({ ...t, state: 'queued', last: result });
      this.count(worker, 'dead');
      return true as const;
    });
  }

  retry(worker: string, taskId: string): PortResult<TaskRow> {
    return this.write('retry', `${worker} ${taskId}`, () => {
      const d = this.deadRows.find((r) => r.worker === worker && r.id === taskId);
      if (!d) return this.notFound('retry', `no dead letter ${taskId} in worker "${worker}"`);
      this.deadRows = this.deadRows.filter((r) => r !== d);
      this.seq += 1;
      this.durableSeq = Math.max(this.durableSeq, this.seq);
      const { last: _, ...row } = d;
      const back: TaskRow = { ...row, seq: this.seq, state: 'queued' };
      this.rows.push(back);
      return { ...back };
    });
  }

  tasks(worker: string, limit: number): PortResult<TaskRow[]> {
    return this.read('tasks', () => this.rows.filter((r) => r.worker === worker).slice(0, limit));
  }

  dead(worker: string, limit: number): PortResult<DeadLetter[]> {
    return this.read('dead', () =>
      this.deadRows.filter((r) => r.worker === worker).slice(0, limit),
    );
  }

  depth(worker: string): PortResult<number> {
    return this.read('depth', () => this.rows.filter((r) => r.worker === worker).length);
  }

  counters(worker: string): PortResult<WorkerCounters> {
    return this.read('counters', () => ({ ...(this.counts.get(worker) ?? zero()) }));
  }
}
