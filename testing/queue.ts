/**
 * A QueueStore for the engine's own tests: the simulator's in-memory store (sim/queue-store.ts,
 * the production store's meaning: push order, attempts, dead letters, counters) with no
 * faults, plus what a test steers by hand: the next call of a method fails with nothing
 * stored, and pushes can be held until the test settles a `sync` (the group commit the
 * daemon's store does in its thread pool). Every write that landed is logged in order.
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
import { Faults } from '../sim/faults.js';
import { Prng } from '../sim/prng.js';
import { SimQueueStore } from '../sim/queue-store.js';
import { Trace } from '../sim/trace.js';

export class MemoryQueue implements QueueStore {
  private readonly store = new SimQueueStore(
    Faults.none(new Prng(1)),
    new Trace(false, () => 0),
    () => true,
    () => {
      throw new Error('memory queue: no fault crashes the daemon');
    },
    () => 0,
  );
  private readonly port = this.store.port(0);
  /** Method names whose next call fails (once each), with nothing stored. */
  readonly failNext = new Set<string>();
  /** Every write that landed, in order (`method what`). */
  readonly writes: string[] = [];
  /** With a deferred sync: the highest seq a settled `sync` made durable (`head` stops there). */
  private durableSeq = 0;
  private readonly syncs: ((r: PortResult<true>) => void)[] = [];
  sync?: (done: (result: PortResult<true>) => void) => void;

  /** `deferSync`: pushes are durable (deliverable) only once a `sync` was settled ok. */
  constructor(options: { deferSync?: boolean } = {}) {
    if (options.deferSync) this.sync = (done) => this.syncs.push(done);
  }

  get rows(): TaskRow[] {
    return this.store.db.tasks;
  }
  get deadRows(): DeadLetter[] {
    return this.store.db.dead;
  }
  get counts(): Map<string, WorkerCounters> {
    return this.store.db.counters;
  }
  get defs(): Map<string, WorkerDef> {
    return this.store.db.workers;
  }

  /** Reports the oldest pending `sync` (ok: every push before it becomes durable). */
  settleSync(ok = true): void {
    const done = this.syncs.shift();
    if (!done) throw new Error('memory queue: no sync pending');
    if (ok) this.durableSeq = this.store.db.seq;
    done(ok ? { ok: true, value: true } : { ok: false, error: this.error('sync', 'disk I/O') });
  }

  get pendingSyncs(): number {
    return this.syncs.length;
  }

  private error(method: string, message: string): PortError {
    return { _tag: 'PortError', port: 'QueueStore', method, reason: 'Unknown', message };
  }

  /** The call, unless the test made it fail; a write that landed is logged as `what`. */
  private call<T>(method: string, what: string | null, body: () => PortResult<T>) {
    if (this.failNext.delete(method)) {
      return { ok: false, error: this.error(method, `${method} failed (injected)`) } as const;
    }
    const r = body();
    if (r.ok && what !== null) this.writes.push(`${method} ${what}`.trim());
    return r;
  }

  workers(): PortResult<WorkerDef[]> {
    return this.call('workers', null, () => this.port.workers());
  }
  createWorker(def: WorkerDef): PortResult<true> {
    return this.call('createWorker', def.name, () => this.port.createWorker(def));
  }
  dropWorker(name: string): PortResult<{ tasks: number; dead: number }> {
    return this.call('dropWorker', name, () => this.port.dropWorker(name));
  }
  push(items: QueuePush[]): PortResult<{ seqs: number[] }> {
    const ids = items.map((i) => i.id).join(',');
    const r = this.call('push', ids, () => this.port.push(items));
    if (r.ok && !this.sync) this.durableSeq = this.store.db.seq;
    return r;
  }
  head(worker: string): PortResult<TaskRow | null> {
    return this.call('head', null, () => this.firstAfter(worker, 0));
  }
  next(worker: string, afterSeq: number): PortResult<TaskRow | null> {
    return this.call('next', null, () => this.firstAfter(worker, afterSeq));
  }
  /** The first durable task of `worker` after `afterSeq`, as the SQLite store reads it. */
  private firstAfter(worker: string, afterSeq: number): PortResult<TaskRow | null> {
    const t = this.rows.find(
      (r) => r.worker === worker && r.seq > afterSeq && r.seq <= this.durableSeq,
    );
    return { ok: true, value: t ? { ...t } : null };
  }
  startAttempt(worker: string, taskId: string): PortResult<{ attempt: number }> {
    const what = `${worker} ${taskId}`;
    return this.call('startAttempt', what, () => this.port.startAttempt(worker, taskId));
  }
  complete(worker: string, taskId: string, result: TaskResult): PortResult<true> {
    const what = `${worker} ${taskId}`;
    return this.call('complete', what, () => this.port.complete(worker, taskId, result));
  }
  fail(worker: string, taskId: string, result: TaskResult): PortResult<true> {
    return this.call('fail', `${worker} ${taskId}`, () => this.port.fail(worker, taskId, result));
  }
  bury(worker: string, taskId: string, result: TaskResult): PortResult<true> {
    return this.call('bury', `${worker} ${taskId}`, () => this.port.bury(worker, taskId, result));
  }
  /** A retry commits durably (synchronous=FULL): every push before it is durable too. */
  retry(worker: string, taskId: string): PortResult<TaskRow> {
    const r = this.call('retry', `${worker} ${taskId}`, () => this.port.retry(worker, taskId));
    if (r.ok) this.durableSeq = this.store.db.seq;
    return r;
  }
  tasks(worker: string, limit: number): PortResult<TaskRow[]> {
    return this.call('tasks', null, () => this.port.tasks(worker, limit));
  }
  dead(worker: string, limit: number): PortResult<DeadLetter[]> {
    return this.call('dead', null, () => this.port.dead(worker, limit));
  }
  depth(worker: string): PortResult<number> {
    return this.call('depth', null, () => this.port.depth(worker));
  }
  counters(worker: string): PortResult<WorkerCounters> {
    return this.call('counters', null, () => this.port.counters(worker));
  }
}
