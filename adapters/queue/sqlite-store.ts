/**
 * The QueueStore port on SQLite (better-sqlite3): WAL journal, `synchronous=FULL`, so a
 * call that returned ok survives a kill -9 of the daemon and a power cut. Each method is
 * one transaction; a failed one leaves nothing behind (SQLite rolls the statement or the
 * transaction back). A full disk comes back as `LimitExceeded` and keeps every committed
 * row. Group commit: `push` takes many items in one transaction, and with `deferPushSync`
 * the fsync is `sync`, run in the thread pool while the event loop goes on; the worker
 * host (core/engine/worker-host.ts) acknowledges pushes only once it reported.
 */

import { closeSync, fsync, fsyncSync, mkdirSync, openSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import type Database from 'better-sqlite3';
import type {
  DeadLetter,
  PortError,
  PortReason,
  PortResult,
  QueuePush,
  QueueStore,
  TaskResult,
  TaskRow,
  WorkerCounters,
  WorkerDef,
} from '../../core/ports.js';
import { SCHEMA_SQL, SCHEMA_VERSION } from './schema.js';

export interface SqliteQueueOptions {
  path: string;
  /** PRAGMA max_page_count: a ceiling on the file (tests make a "full disk" with it). */
  maxPageCount?: number;
  /** Durability of delivery bookkeeping (see `syncFor`). */
  lifecycleSync?: 'full' | 'normal';
  /**
   * Pushes commit without waiting for the disk and `sync` makes them durable with one
   * fsync of the WAL in the thread pool (group commit that leaves the event loop free).
   * Off: each push commits with synchronous=FULL and `sync` has nothing to wait for.
   */
  deferPushSync?: boolean;
}

export interface SqliteQueueStore extends QueueStore {
  readonly path: string;
  sync(done: (result: PortResult<true>) => void): void;
  /** Pages the database file holds now (tests size a "full disk" from it). */
  pageCount(): number;
  close(): void;
}

/** SQLite result codes → the port's closed set of reasons. */
export function reasonForSqliteCode(code: string | undefined): PortReason {
  if (!code) return 'Unknown';
  if (code === 'SQLITE_FULL' || code === 'SQLITE_IOERR_WRITE' || code === 'SQLITE_TOOBIG')
    return 'LimitExceeded';
  if (code.startsWith('SQLITE_CONSTRAINT_FOREIGNKEY')) return 'NotFound';
  if (code.startsWith('SQLITE_CONSTRAINT')) return 'Exists';
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) return 'Busy';
  if (code === 'SQLITE_CORRUPT' || code === 'SQLITE_NOTADB') return 'Corrupt';
  if (code.startsWith('SQLITE_READONLY') || code.startsWith('SQLITE_PERM'))
    return 'PermissionDenied';
  if (code.startsWith('SQLITE_CANTOPEN')) return 'NotFound';
  return 'Unknown';
}

function queueError(method: string, path: string, cause: unknown): PortError {
  const e = (cause ?? {}) as { code?: string; message?: string };
  const reason = reasonForSqliteCode(e.code);
  const detail = e.message ?? String(cause);
  const message =
    reason === 'LimitExceeded'
      ? `queue store ${path} is full (${e.code}): ${detail}; nothing of this call was stored`
      : `queue store ${path}: ${method} failed (${e.code ?? 'error'}): ${detail}`;
  return { _tag: 'PortError', port: 'QueueStore', method, reason, message, path };
}

function notFound(method: string, path: string, message: string): PortError {
  return { _tag: 'PortError', port: 'QueueStore', method, reason: 'NotFound', message, path };
}

interface TaskSqlRow {
  seq: number;
  id: string;
  worker: string;
  payload: Buffer;
  attempt: number;
  state: string;
  pushed_at: number;
}

function toTask(row: TaskSqlRow): TaskRow {
  return {
    id: row.id,
    worker: row.worker,
    seq: row.seq,
    payload: new Uint8Array(row.payload),
    attempt: row.attempt,
    state: row.state === 'running' ? 'running' : 'queued',
    pushedAtWallMs: row.pushed_at,
  };
}

const LIFECYCLE_METHODS = new Set(['startAttempt', 'complete', 'fail', 'bury']);

class Refused extends Error {
  constructor(readonly error: PortError) {
    super(error.message);
  }
}

type SyncLevel = 'FULL' | 'NORMAL';

/**
 * better-sqlite3 (and SQLite in it, about 7 MiB resident) is loaded when a store is first
 * opened, not when this module is: a daemon without workers never loads it.
 */
const requireCjs = createRequire(import.meta.url);
const loadDatabase = (): typeof Database => requireCjs('better-sqlite3');

class Store implements SqliteQueueStore {
  private readonly db: Database.Database;
  private readonly stmts: ReturnType<typeof prepare>;
  /**
   * Runs a body in one IMMEDIATE transaction. Made once: better-sqlite3's `transaction()`
   * builds four wrappers and their properties on every call, a cost paid twice per task.
   */
  private readonly inTransaction: (body: () => unknown) => unknown;
  private level: SyncLevel = 'FULL';
  /** The highest task seq committed, and the highest known durable (`head` stops there). */
  private lastSeq = 0;
  private syncedSeq = 0;
  /**
   * Tasks per worker, counted once and then kept by every committed change (a count(*)
   * per delivery walked the whole queue: quadratic over a drain).
   */
  private readonly depths = new Map<string, number>();
  /** The WAL, held open for `sync`; closed once no fsync of it is in flight. */
  private walFd = -1;
  private syncsInFlight = 0;
  private closed = false;

  constructor(
    readonly path: string,
    maxPageCount: number | undefined,
    private readonly lifecycleSync: SyncLevel,
    private readonly deferPushSync: boolean,
  ) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    this.db = new (loadDatabase())(path);
    // Only this daemon opens the queue: the exclusive lock is taken once and held, so no
    // transaction takes and drops file locks (a dozen fcntl calls per delivered task), the
    // WAL index lives in memory (no -shm file), and a second daemon on the same state
    // cannot write to it. Set before WAL mode, as SQLite requires for that.
    this.db.pragma('locking_mode = EXCLUSIVE');
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    if (maxPageCount !== undefined) this.db.pragma(`max_page_count = ${maxPageCount}`);
    this.migrate();
    this.stmts = prepare(this.db);
    this.inTransaction = this.db.transaction((body: () => unknown) => body()).immediate;
    // What a killed daemon committed may still sit in the page cache only: fsync it all
    // once, then every task on file is durable.
    this.fsyncWal();
    const row = this.stmts.lastSeq.get() as { seq: number } | undefined;
    this.lastSeq = row?.seq ?? 0;
    this.syncedSeq = this.lastSeq;
  }

  private openWal(): number {
    if (this.walFd < 0) this.walFd = openSync(`${this.path}-wal`, 'r');
    return this.walFd;
  }

  private fsyncWal(): void {
    try {
      fsyncSync(this.openWal());
    } catch (cause) {
      if ((cause as { code?: string }).code !== 'ENOENT') throw cause;
    }
  }

  sync(done: (result: PortResult<true>) => void): void {
    const target = this.lastSeq;
    if (target <= this.syncedSeq || this.closed) {
      setImmediate(() => done(this.closed ? this.closedError('sync') : { ok: true, value: true }));
      return;
    }
    let fd: number;
    try {
      fd = this.openWal();
    } catch (cause) {
      setImmediate(() => done({ ok: false, error: queueError('sync', this.path, cause) }));
      return;
    }
    this.syncsInFlight += 1;
    fsync(fd, (err) => {
      this.syncsInFlight -= 1;
      if (this.closed && this.syncsInFlight === 0) this.closeWal();
      if (err) {
        done({ ok: false, error: queueError('sync', this.path, err) });
        return;
      }
      this.syncedSeq = Math.max(this.syncedSeq, target);
      done({ ok: true, value: true });
    });
  }

  private closedError(method: string): PortResult<never> {
    return { ok: false, error: queueError(method, this.path, new Error('the store is closed')) };
  }

  private closeWal(): void {
    if (this.walFd >= 0) closeSync(this.walFd);
    this.walFd = -1;
  }

  private migrate(): void {
    const version = this.db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      throw new Error(
        `queue store ${this.path}: schema version ${version} is newer than this shipote ` +
          `understands (${SCHEMA_VERSION}); refusing to open it`,
      );
    }
    if (version === SCHEMA_VERSION) return;
    this.db.exec(SCHEMA_SQL);
    this.db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }

  /** Runs `body` in one IMMEDIATE transaction; any throw is a value, nothing stored. */
  private tx<T>(method: string, body: () => T | PortError): PortResult<T> {
    if (this.closed) return this.closedError(method);
    this.syncFor(method);
    try {
      const value = this.inTransaction(() => {
        const v = body();
        if (isPortError(v)) throw new Refused(v); // rolls the transaction back
        return v;
      }) as T;
      if (this.level === 'FULL') this.syncedSeq = this.lastSeq; // the WAL was fsynced
      return { ok: true, value };
    } catch (cause) {
      if (cause instanceof Refused) return { ok: false, error: cause.error };
      return { ok: false, error: queueError(method, this.path, cause) };
    }
  }

  /**
   * Operator intent (workers, pushes, retries) commits with synchronous=FULL: fsync before
   * the call returns. Delivery bookkeeping commits with the `lifecycleSync` level: NORMAL
   * (the default) writes the WAL before returning, so it survives a kill -9 of the daemon,
   * and is fsynced with the next FULL commit or checkpoint; a power cut before that can
   * lose it, which at worst runs a finished task again (at-least-once, as after a daemon
   * crash between a task's exit and its removal). With `deferPushSync`, pushes commit with
   * NORMAL too and are fsynced by `sync` (in the thread pool) before they are acknowledged
   * or delivered: as durable as FULL, without holding the event loop for the disk.
   */
  private syncFor(method: string): void {
    const deferred = LIFECYCLE_METHODS.has(method) || (method === 'push' && this.deferPushSync);
    const want = !deferred ? 'FULL' : method === 'push' ? 'NORMAL' : this.lifecycleSync;
    if (want === this.level) return;
    this.db.pragma(`synchronous = ${want}`);
    this.level = want;
  }

  /** A FULL commit fsynced the WAL: everything committed before it is durable too. */
  private committed(seq: number): void {
    this.lastSeq = Math.max(this.lastSeq, seq);
    if (this.level === 'FULL') this.syncedSeq = this.lastSeq;
  }

  private read<T>(method: string, body: () => T): PortResult<T> {
    try {
      return { ok: true, value: body() };
    } catch (cause) {
      return { ok: false, error: queueError(method, this.path, cause) };
    }
  }

  workers(): PortResult<WorkerDef[]> {
    return this.read('workers', () =>
      (this.stmts.workers.all() as { def: string }[]).map((r) => JSON.parse(r.def) as WorkerDef),
    );
  }

  createWorker(def: WorkerDef): PortResult<true> {
    return this.tx('createWorker', () => {
      this.stmts.insertWorker.run(def.name, JSON.stringify(def));
      this.stmts.insertCounters.run(def.name);
      return true as const;
    });
  }

  dropWorker(name: string): PortResult<{ tasks: number; dead: number }> {
    const r = this.tx('dropWorker', () => {
      const tasks = this.stmts.deleteTasks.run(name).changes;
      const dead = this.stmts.deleteDead.run(name).changes;
      this.stmts.deleteCounters.run(name);
      const gone = this.stmts.deleteWorker.run(name).changes;
      if (gone === 0) return notFound('dropWorker', this.path, `no worker "${name}"`);
      return { tasks, dead };
    });
    if (r.ok) this.depths.delete(name);
    return r;
  }

  push(items: QueuePush[]): PortResult<{ seqs: number[] }> {
    const r = this.tx('push', () => {
      const seqs: number[] = [];
      const perWorker = new Map<string, number>();
      for (const item of items) {
        const r = this.stmts.insertTask.run(
          item.id,
          item.worker,
          Buffer.from(item.payload.buffer, item.payload.byteOffset, item.payload.byteLength),
          item.pushedAtWallMs,
        );
        seqs.push(Number(r.lastInsertRowid));
        perWorker.set(item.worker, (perWorker.get(item.worker) ?? 0) + 1);
      }
      for (const [worker, n] of perWorker) this.stmts.countPushed.run(n, worker);
      return { seqs, perWorker };
    });
    if (!r.ok) return r;
    this.committed(Math.max(0, ...r.value.seqs));
    for (const [worker, n] of r.value.perWorker) this.counted(worker, n);
    return { ok: true, value: { seqs: r.value.seqs } };
  }

  head(worker: string): PortResult<TaskRow | null> {
    return this.firstAfter('head', worker, 0); // seqs start at 1
  }

  next(worker: string, afterSeq: number): PortResult<TaskRow | null> {
    return this.firstAfter('next', worker, afterSeq);
  }

  /** The first durable task of `worker` after `afterSeq` (`head` stops at `syncedSeq`). */
  private firstAfter(method: string, worker: string, afterSeq: number) {
    return this.read(method, () => {
      const row = this.stmts.next.get(worker, afterSeq, this.syncedSeq) as TaskSqlRow | undefined;
      return row ? toTask(row) : null;
    });
  }

  startAttempt(worker: string, taskId: string): PortResult<{ attempt: number }> {
    return this.tx('startAttempt', () => {
      const row = this.stmts.startAttempt.get(taskId, worker) as { attempt: number } | undefined;
      if (!row) return notFound('startAttempt', this.path, `no task ${taskId} in "${worker}"`);
      return { attempt: row.attempt };
    });
  }

  complete(worker: string, taskId: string, result: TaskResult): PortResult<true> {
    const r = this.tx('complete', () => {
      const gone = this.stmts.deleteTask.run(taskId, worker).changes;
      if (gone === 0) return notFound('complete', this.path, `no task ${taskId} in "${worker}"`);
      this.stmts.countDone.run(JSON.stringify({ ...result, taskId }), worker);
      return true as const;
    });
    if (r.ok) this.counted(worker, -1);
    return r;
  }

  fail(worker: string, taskId: string, result: TaskResult): PortResult<true> {
    return this.tx('fail', () => {
      const changed = this.stmts.requeue.run(taskId, worker).changes;
      if (changed === 0) return notFound('fail', this.path, `no task ${taskId} in "${worker}"`);
      this.stmts.countFailed.run(JSON.stringify({ ...result, taskId }), worker);
      return true as const;
    });
  }

  bury(worker: string, taskId: string, result: TaskResult): PortResult<true> {
    const r = this.tx('bury', () => {
      const last = JSON.stringify(result);
      const moved = this.stmts.bury.run(last, taskId, worker).changes;
      if (moved === 0) return notFound('bury', this.path, `no task ${taskId} in "${worker}"`);
      this.stmts.deleteTask.run(taskId, worker);
      this.stmts.countDead.run(JSON.stringify({ ...result, taskId }), worker);
      return true as const;
    });
    if (r.ok) this.counted(worker, -1);
    return r;
  }

  retry(worker: string, taskId: string): PortResult<TaskRow> {
    const r = this.tx('retry', () => {
      const moved = this.stmts.unbury.run(taskId, worker).changes;
      if (moved === 0) {
        return notFound('retry', this.path, `no dead letter ${taskId} in worker "${worker}"`);
      }
      this.stmts.deleteDeadOne.run(taskId, worker);
      return toTask(this.stmts.taskById.get(taskId) as TaskSqlRow);
    });
    if (r.ok) {
      this.committed(r.value.seq);
      this.counted(worker, 1);
    }
    return r;
  }

  tasks(worker: string, limit: number): PortResult<TaskRow[]> {
    return this.read('tasks', () =>
      (this.stmts.tasks.all(worker, limit) as TaskSqlRow[]).map(toTask),
    );
  }

  dead(worker: string, limit: number): PortResult<DeadLetter[]> {
    return this.read('dead', () =>
      (this.stmts.dead.all(worker, limit) as (TaskSqlRow & { last: string })[]).map((r) => ({
        ...toTask(r),
        state: 'queued' as const,
        last: JSON.parse(r.last) as TaskResult,
      })),
    );
  }

  depth(worker: string): PortResult<number> {
    const known = this.depths.get(worker);
    if (known !== undefined) return { ok: true, value: known };
    const r = this.read('depth', () => (this.stmts.depth.get(worker) as { n: number }).n);
    if (r.ok) this.depths.set(worker, r.value);
    return r;
  }

  /** A committed change of `worker`'s task count (a count not read yet stays unknown). */
  private counted(worker: string, change: number): void {
    const known = this.depths.get(worker);
    if (known !== undefined) this.depths.set(worker, known + change);
  }

  counters(worker: string): PortResult<WorkerCounters> {
    return this.read('counters', () => {
      const row = this.stmts.counters.get(worker) as
        | { pushed: number; done: number; failed: number; dead: number; last: string | null }
        | undefined;
      if (!row) return { pushed: 0, done: 0, failed: 0, dead: 0, last: null };
      const last = row.last ? (JSON.parse(row.last) as WorkerCounters['last']) : null;
      return { pushed: row.pushed, done: row.done, failed: row.failed, dead: row.dead, last };
    });
  }

  pageCount(): number {
    return this.db.pragma('page_count', { simple: true }) as number;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
    if (this.syncsInFlight === 0) this.closeWal();
  }
}

function isPortError(value: unknown): value is PortError {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { _tag?: unknown })._tag === 'PortError'
  );
}

function prepare(db: Database.Database) {
  const task = 'seq, id, worker, payload, attempt, state, pushed_at';
  const s = (sql: string) => db.prepare(sql);
  return {
    workers: s('SELECT def FROM workers ORDER BY rowid'),
    insertWorker: s('INSERT INTO workers (name, def) VALUES (?, ?)'),
    insertCounters: s('INSERT OR REPLACE INTO counters (worker) VALUES (?)'),
    deleteTasks: s('DELETE FROM tasks WHERE worker = ?'),
    deleteDead: s('DELETE FROM dead WHERE worker = ?'),
    deleteCounters: s('DELETE FROM counters WHERE worker = ?'),
    deleteWorker: s('DELETE FROM workers WHERE name = ?'),
    insertTask: s('INSERT INTO tasks (id, worker, payload, pushed_at) VALUES (?, ?, ?, ?)'),
    countPushed: s('UPDATE counters SET pushed = pushed + ? WHERE worker = ?'),
    next: s(
      `SELECT ${task} FROM tasks WHERE worker = ? AND seq > ? AND seq <= ? ORDER BY seq LIMIT 1`,
    ),
    lastSeq: s("SELECT seq FROM sqlite_sequence WHERE name = 'tasks'"),
    startAttempt: s(
      "UPDATE tasks SET attempt = attempt + 1, state = 'running' WHERE id = ? AND worker = ? " +
        'RETURNING attempt',
    ),
    deleteTask: s('DELETE FROM tasks WHERE id = ? AND worker = ?'),
    requeue: s("UPDATE tasks SET state = 'queued' WHERE id = ? AND worker = ?"),
    countDone: s('UPDATE counters SET done = done + 1, last = ? WHERE worker = ?'),
    countFailed: s('UPDATE counters SET failed = failed + 1, last = ? WHERE worker = ?'),
    countDead: s(
      'UPDATE counters SET failed = failed + 1, dead = dead + 1, last = ? WHERE worker = ?',
    ),
    bury: s(
      `INSERT INTO dead (seq, id, worker, payload, attempt, pushed_at, last)
       SELECT seq, id, worker, payload, attempt, pushed_at, ? FROM tasks
       WHERE id = ? AND worker = ?`,
    ),
    unbury: s(
      `INSERT INTO tasks (id, worker, payload, attempt, state, pushed_at)
       SELECT id, worker, payload, attempt, 'queued', pushed_at FROM dead
       WHERE id = ? AND worker = ?`,
    ),
    deleteDeadOne: s('DELETE FROM dead WHERE id = ? AND worker = ?'),
    taskById: s(`SELECT ${task} FROM tasks WHERE id = ?`),
    tasks: s(`SELECT ${task} FROM tasks WHERE worker = ? ORDER BY seq LIMIT ?`),
    dead: s(
      `SELECT seq, id, worker, payload, attempt, 'queued' AS state, pushed_at, last
       FROM dead WHERE worker = ? ORDER BY seq LIMIT ?`,
    ),
    depth: s('SELECT count(*) AS n FROM tasks WHERE worker = ?'),
    counters: s('SELECT pushed, done, failed, dead, last FROM counters WHERE worker = ?'),
  };
}

/** Opens (creating) the queue database; throws when it cannot be opened at all. */
export function openSqliteQueueStore(options: SqliteQueueOptions): SqliteQueueStore {
  const level = options.lifecycleSync === 'full' ? 'FULL' : 'NORMAL';
  return new Store(options.path, options.maxPageCount, level, options.deferPushSync ?? false);
}
