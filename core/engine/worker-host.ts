/**
 * The imperative shell around `workerStep`: holds every worker's record, runs the
 * effects through the ports (QueueStore, Kernel, Clock) in order, and feeds port results
 * and process exits back as events. A durable write that fails stops the effects of its
 * step there (what follows it depends on it) and comes back as `store-failed`.
 *
 * Pushes arriving in one turn of the event loop are committed together (group commit):
 * the first one arms a timer due now, the timer commits them all in one transaction and
 * only then are their callers answered. A store with `sync` commits without waiting for
 * the disk: the commits made while one `sync` runs are made durable by the next one, and
 * their callers are answered (and their workers told) only when it reported.
 */

import type { WorkerSpec } from '../manifest/worker.js';
import type {
  Clock,
  DeadLetter,
  Envelope,
  EventLog,
  Ids,
  Kernel,
  PortError,
  PortResult,
  QueuePush,
  QueueStore,
  TaskRow,
  TimerHandle,
  WorkerDef,
} from '../ports.js';
import type { ApiError, ApiResult, TaskLogs, WorkerSupervisor } from './api.js';
import {
  decideDrop,
  newWorker,
  STDERR_TAIL_BYTES_MAX,
  TASK_KILL_GRACE_MS,
  taskRequest,
  type WorkerEffect,
  type WorkerEvent,
  type WorkerRec,
  type WorkerTimer,
  workerStep,
} from './worker.js';
import { type WorkerView, workerView } from './worker-views.js';

export interface WorkerHostDeps {
  clock: Clock;
  kernel: Kernel;
  ids: Ids;
  queue: QueueStore;
  /** Appends a lifecycle event (the supervisor's log and listeners). */
  append: EventLog['append'];
  /** The envelope of a running workspace, or why tasks cannot start there now. */
  envelopeOf: (wsId: string) => EnvelopeLookup;
  taskLogs?: TaskLogs;
}

/** How long an exit waits for the task's stderr to be captured (a grandchild may hold it). */
export const CAPTURE_WAIT_MS_MAX = 100;

export type EnvelopeLookup = { ok: true; envelope: Envelope } | { ok: false; why: string };

export type PushAck = ApiResult<{ id: string; seq: number }>;

interface TaskExit {
  pid: number;
  code: number | null;
  signal: string | null;
  startFailed?: string;
}

interface Prepared {
  taskId: string;
  attempt: number;
  pid: number;
  envelope: Envelope;
}

interface PendingPush {
  item: QueuePush;
  resolve: (ack: PushAck) => void;
}

/** Pushes committed, waiting for the `sync` that makes them durable. */
interface CommittedPush extends PendingPush {
  seq: number;
}

const LIST_LIMIT_DEFAULT = 1000;

export const workerKey = (name: string): string => `worker-${name}`;

const fromPort = (e: PortError): ApiError => ({
  code: e.reason === 'NotFound' ? 'not_found' : e.reason === 'Exists' ? 'conflict' : 'unavailable',
  message: e.message,
});

export class WorkerHost implements WorkerSupervisor {
  private readonly recs = new Map<string, WorkerRec>();
  private readonly pids = new Map<number, string>();
  private readonly timers = new Map<string, TimerHandle>();
  /** stderr bytes of each worker's key when its current task started. */
  private readonly stderrMarks = new Map<string, number>();
  private readonly dropWaiters = new Map<string, ((r: ApiResult<true>) => void)[]>();
  /**
   * Each worker's next task, prepared while the current one runs (Kernel `prepare`: set up,
   * held before its exec). Used only if the step then starts exactly that task and attempt
   * in the same envelope; anything else abandons it. Nothing of it runs before `start`.
   */
  private readonly prepared = new Map<string, Prepared>();
  private readonly preparedPids = new Map<number, string>();
  private pending: PendingPush[] = [];
  private flushArmed = false;
  private unsynced: CommittedPush[] = [];
  private syncing = false;
  private depth = 0;
  private readonly exits: TaskExit[] = [];
  /**
   * Events of the steps in progress, appended once the outermost step is over: a task's
   * `worker-task-done` then costs the next task's spawn nothing (order is kept).
   */
  private readonly events: { ev: string; fields: Record<string, string | number | boolean> }[] = [];
  private closed = false;

  constructor(private readonly deps: WorkerHostDeps) {}

  /** Load the declared workers and resume their queues (a running head gets attempt + 1). */
  start(): { workers: number; tasks: number; error: string | null } {
    const defs = this.deps.queue.workers();
    if (!defs.ok) return { workers: 0, tasks: 0, error: defs.error.message };
    let tasks = 0;
    for (const def of defs.value) {
      const depth = this.deps.queue.depth(def.name);
      const n = depth.ok ? depth.value : 0;
      tasks += n;
      this.recs.set(def.name, newWorker(def, 0));
      this.apply(def.name, { type: 'pushed', count: n });
    }
    return { workers: defs.value.length, tasks, error: null };
  }

  close(): void {
    for (const name of [...this.prepared.keys()]) this.abandonPrepared(name);
    this.closed = true;
    for (const handle of this.timers.values()) this.deps.clock.clearTimer(handle);
    this.timers.clear();
  }

  /**
   * Daemon shutdown: deliver nothing more and end the running tasks. Their outcome is
   * not recorded: each stays queued as `running` and comes back with attempt + 1, as
   * after a kill -9 of the daemon.
   */
  shutdown(): void {
    this.close(); // abandons the prepared processes
    for (const pid of this.pids.keys()) this.deps.kernel.signal(pid, 'SIGKILL');
  }

  /**
   * The workspace `wsId` is stopping (operator, TTL or quota): the running task of each of
   * its workers ends with it, SIGTERM then SIGKILL after `graceMs`, and stays queued.
   */
  workspaceStopping(wsId: string, graceMs: number): void {
    for (const [name, rec] of this.recs) {
      if (rec.def.wsId !== wsId) continue;
      this.abandonPrepared(name);
      this.apply(name, { type: 'suspend', graceMs, why: `workspace ${wsId} is stopping` });
    }
  }

  owns(pid: number): boolean {
    return this.pids.has(pid);
  }

  livePids(): number[] {
    return [...this.pids.keys()];
  }

  /** A process exit; false when the pid is not a worker's. */
  onExit(pid: number, code: number | null, signal: string | null, startFailed?: string): boolean {
    const held = this.preparedPids.get(pid);
    if (held !== undefined) {
      // A prepared process died before its start (killed from outside): it ran nothing.
      this.preparedPids.delete(pid);
      if (this.prepared.get(held)?.pid === pid) this.prepared.delete(held);
      return true;
    }
    if (!this.pids.has(pid)) return false;
    if (this.closed) {
      this.pids.delete(pid); // shutting down: the task stays queued for the next daemon
      return true;
    }
    this.exits.push(
      startFailed === undefined ? { pid, code, signal } : { pid, code, signal, startFailed },
    );
    if (this.depth === 0) this.drainExits();
    return true;
  }

  private drainExits(): void {
    while (this.depth === 0 && this.exits.length > 0) {
      const exit = this.exits.shift() as (typeof this.exits)[number];
      const name = this.pids.get(exit.pid);
      if (name === undefined) continue;
      const when = this.deps.taskLogs?.whenCaptured;
      if (!when) {
        this.exited(name, exit);
        continue;
      }
      // The exit may come before the last stderr bytes: wait for EOF, bounded.
      const { clock } = this.deps;
      let done = false;
      let handle: TimerHandle | null = null;
      const once = () => {
        if (done || this.closed) return;
        done = true;
        if (handle !== null) clock.clearTimer(handle);
        this.exited(name, exit);
      };
      when.call(this.deps.taskLogs, workerKey(name), once);
      if (!done) handle = clock.setTimer(clock.nowMs() + CAPTURE_WAIT_MS_MAX, once);
    }
  }

  private exited(name: string, e: TaskExit) {
    if (this.pids.get(e.pid) !== name) return;
    this.pids.delete(e.pid);
    // A failed task runs again after a backoff: the next one prepared would wait that long.
    if (e.code !== 0) this.abandonPrepared(name);
    const stderrTail = this.stderrOfTask(name);
    const exit = { type: 'exited' as const, code: e.code, signal: e.signal, stderrTail };
    this.apply(name, e.startFailed === undefined ? exit : { ...exit, startFailed: e.startFailed });
  }

  private stderrOfTask(name: string): string {
    const logs = this.deps.taskLogs;
    if (!logs) return '';
    const key = workerKey(name);
    const bytes = logs.stderrBytes(key) - (this.stderrMarks.get(name) ?? 0);
    return bytes > 0 ? logs.stderrTail(key, Math.min(bytes, STDERR_TAIL_BYTES_MAX)) : '';
  }

  // ── the loop ────────────────────────────────────────────────────────────────────

  private apply(name: string, event: WorkerEvent): void {
    const rec = this.recs.get(name);
    if (!rec || this.closed) return; // closed: the next daemon takes over from the store
    this.depth += 1;
    try {
      const { clock } = this.deps;
      const result = workerStep(rec, event, clock.nowMs(), clock.wallMs());
      this.recs.set(name, result.rec);
      for (const effect of result.effects) {
        if (!this.run(name, effect)) break;
      }
    } finally {
      this.depth -= 1;
      if (this.depth === 0) {
        this.flushEvents();
        this.drainExits();
      }
    }
  }

  /** Runs one effect; false when it failed and the rest of the step must not run. */
  private run(name: string, effect: WorkerEffect): boolean {
    const q = this.deps.queue;
    switch (effect.type) {
      case 'load-head':
        return this.loadHead(name);
      case 'record-start':
        // A workspace that cannot take the task now holds it without spending an attempt.
        return this.placeable(name) && this.durable(name, q.startAttempt(name, effect.taskId));
      case 'spawn':
        return this.spawn(name, effect);
      case 'record-done':
        return this.durable(name, q.complete(name, effect.taskId, effect.result));
      case 'record-failed':
        return this.durable(name, q.fail(name, effect.taskId, effect.result));
      case 'record-dead':
        return this.durable(name, q.bury(name, effect.taskId, effect.result));
      case 'arm-timer':
        this.armTimer(name, effect.kind, effect.atMs);
        return true;
      case 'cancel-timer':
        this.cancelTimer(`${name}:${effect.kind}`);
        return true;
      case 'signal':
        this.deps.kernel.signal(effect.pid, effect.signal);
        return true;
      case 'drop':
        this.drop(name);
        return true;
      case 'append-event':
        this.events.push({ ev: effect.ev, fields: effect.fields });
        return true;
    }
  }

  private flushEvents(): void {
    if (this.events.length === 0) return;
    const wallMs = this.deps.clock.wallMs();
    for (const e of this.events.splice(0)) this.deps.append({ wallMs, ...e });
  }

  private durable(name: string, result: { ok: true } | { ok: false; error: PortError }): boolean {
    if (result.ok) return true;
    this.apply(name, { type: 'store-failed', message: result.error.message });
    return false;
  }

  private loadHead(name: string): boolean {
    const head = this.deps.queue.head(name);
    const depth = this.deps.queue.depth(name);
    if (!head.ok) return this.durable(name, head);
    if (!depth.ok) return this.durable(name, depth);
    this.apply(name, { type: 'head', task: head.value, depth: depth.value });
    return true;
  }

  private placeable(name: string): boolean {
    const rec = this.recs.get(name);
    if (!rec) return false;
    const where = this.deps.envelopeOf(rec.def.wsId);
    if (where.ok) return true;
    this.apply(name, { type: 'blocked', message: where.why });
    return false;
  }

  private spawn(name: string, effect: Extract<WorkerEffect, { type: 'spawn' }>): boolean {
    const rec = this.recs.get(name);
    if (!rec) return false;
    const where = this.deps.envelopeOf(rec.def.wsId);
    if (!where.ok) {
      this.apply(name, { type: 'blocked', message: where.why });
      return false;
    }
    const req = { ...effect.req, envelope: where.envelope };
    // Marked before the spawn: the previous attempt's output is all counted by then (its
    // exit waited for its pipes' EOF), while the new stream may not know its offset yet.
    this.stderrMarks.set(name, this.deps.taskLogs?.stderrBytes(workerKey(name)) ?? 0);
    const r =
      this.startPrepared(name, effect, where.envelope) ??
      this.deps.kernel.spawn(workerKey(name), req);
    if (!r.ok) {
      this.apply(name, { type: 'spawn-failed', message: r.error.message });
      return false;
    }
    this.pids.set(r.value.pid, name);
    this.apply(name, { type: 'spawned', pid: r.value.pid });
    this.prepareNext(name);
    return true;
  }

  /** The prepared process, started, if it is this very task and attempt; else null. */
  private startPrepared(
    name: string,
    effect: Extract<WorkerEffect, { type: 'spawn' }>,
    envelope: Envelope,
  ): PortResult<{ pid: number }> | null {
    const p = this.prepared.get(name);
    const { kernel } = this.deps;
    if (!p || !kernel.start) return null;
    const same = p.taskId === effect.taskId && p.attempt === effect.attempt;
    if (!same || p.envelope !== envelope) {
      this.abandonPrepared(name);
      return null;
    }
    this.prepared.delete(name);
    this.preparedPids.delete(p.pid);
    return kernel.start(p.pid);
  }

  /**
   * While a task runs, its successor is prepared (the queue's next task, with the attempt
   * starting it would record). Best effort: a failure here costs the plain spawn later.
   */
  private prepareNext(name: string): void {
    const { kernel } = this.deps;
    const rec = this.recs.get(name);
    if (!kernel.prepare || this.closed || this.prepared.has(name)) return;
    if (rec?.state !== 'running' || !rec.head) return;
    const found = this.deps.queue.next(name, rec.head.seq);
    const next = found.ok ? found.value : null;
    if (next === null) return;
    const where = this.deps.envelopeOf(rec.def.wsId);
    if (!where.ok) return;
    const attempt = next.attempt + 1;
    const req = { ...taskRequest(rec.def, next, attempt), envelope: where.envelope };
    const r = kernel.prepare(workerKey(name), req);
    if (!r.ok) return;
    this.prepared.set(name, {
      taskId: next.id,
      attempt,
      pid: r.value.pid,
      envelope: where.envelope,
    });
    this.preparedPids.set(r.value.pid, name);
  }

  private abandonPrepared(name: string): void {
    const p = this.prepared.get(name);
    if (!p) return;
    this.prepared.delete(name);
    this.preparedPids.delete(p.pid);
    this.deps.kernel.abandon?.(p.pid);
  }

  private armTimer(name: string, kind: WorkerTimer, atMs: number): void {
    const key = `${name}:${kind}`;
    this.cancelTimer(key);
    if (this.closed) return;
    let handle: TimerHandle | undefined;
    let early = false;
    handle = this.deps.clock.setTimer(atMs, () => {
      if (handle === undefined) {
        early = true;
        return;
      }
      if (this.timers.get(key) !== handle) return;
      this.timers.delete(key);
      this.apply(name, { type: 'timer', kind });
    });
    if (early) this.apply(name, { type: 'timer', kind });
    else this.timers.set(key, handle);
  }

  private cancelTimer(key: string): void {
    const handle = this.timers.get(key);
    if (handle === undefined) return;
    this.timers.delete(key);
    this.deps.clock.clearTimer(handle);
  }

  private drop(name: string): void {
    this.abandonPrepared(name);
    const r = this.deps.queue.dropWorker(name);
    for (const kind of ['backoff', 'timeout', 'kill']) this.cancelTimer(`${name}:${kind}`);
    this.recs.delete(name);
    this.stderrMarks.delete(name);
    this.deps.kernel.release(workerKey(name));
    const waiting = this.dropWaiters.get(name) ?? [];
    this.dropWaiters.delete(name);
    const answer: ApiResult<true> = r.ok ? { ok: true, value: true } : fromPort0(r.error);
    if (r.ok) this.event('worker-dropped', { worker: name, tasks: r.value.tasks });
    for (const resolve of waiting) resolve(answer);
  }

  private event(ev: string, fields: Record<string, string | number | boolean>): void {
    this.events.push({ ev, fields });
    if (this.depth === 0) this.flushEvents();
  }

  // ── API ─────────────────────────────────────────────────────────────────────────

  /** `ref` is the workspace id (the supervisor resolved it). */
  createWorker(wsId: string, spec: WorkerSpec): ApiResult<WorkerView> {
    const def: WorkerDef = {
      name: spec.name,
      wsId,
      exec: spec.exec,
      argv: spec.argv,
      env: spec.envp,
      cwd: spec.cwd,
      backoffMsInitial: spec.backoffMsInitial,
      backoffMsMax: spec.backoffMsMax,
      timeoutMs: spec.timeoutMs,
      killGraceMs: spec.killGraceMs ?? TASK_KILL_GRACE_MS,
      crashLoopMax: spec.crashLoopMax,
      crashLoopWindowMs: spec.crashLoopWindowMs,
      createdAtWallMs: this.deps.clock.wallMs(),
    };
    if (this.recs.has(def.name)) {
      return { ok: false, error: { code: 'conflict', message: `worker "${def.name}" exists` } };
    }
    const r = this.deps.queue.createWorker(def);
    if (!r.ok) return { ok: false, error: fromPort(r.error) };
    this.recs.set(def.name, newWorker(def, 0));
    this.event('worker-create', { worker: def.name, ws: def.wsId, exec: def.exec });
    return this.getWorker(def.name);
  }

  /** Resolves once the task is committed (with every push of the same turn). */
  pushTask(name: string, payload: Uint8Array): Promise<PushAck> {
    if (!this.recs.has(name)) {
      return Promise.resolve({ ok: false, error: noWorker(name) });
    }
    if (this.closed) {
      const error: ApiError = { code: 'unavailable', message: 'the daemon is shutting down' };
      return Promise.resolve({ ok: false, error });
    }
    const item: QueuePush = {
      worker: name,
      id: this.deps.ids.next(),
      payload,
      pushedAtWallMs: this.deps.clock.wallMs(),
    };
    return new Promise<PushAck>((resolve) => {
      this.pending.push({ item, resolve });
      if (this.flushArmed) return;
      this.flushArmed = true;
      this.deps.clock.setTimer(this.deps.clock.nowMs(), () => this.flushPushes());
    });
  }

  /** Commits every pending push in one transaction, then answers each caller. */
  flushPushes(): void {
    this.flushArmed = false;
    if (this.closed) {
      const error: ApiError = { code: 'unavailable', message: 'the daemon is shutting down' };
      for (const p of this.pending.splice(0)) p.resolve({ ok: false, error });
      return;
    }
    const batch = this.pending.filter((p) => this.recs.has(p.item.worker));
    for (const p of this.pending) {
      if (!this.recs.has(p.item.worker)) p.resolve({ ok: false, error: noWorker(p.item.worker) });
    }
    this.pending = [];
    if (batch.length === 0) return;
    const r = this.deps.queue.push(batch.map((p) => p.item));
    if (!r.ok) {
      const error = fromPort(r.error);
      for (const p of batch) p.resolve({ ok: false, error });
      return;
    }
    const committed = batch.map((p, i) => ({ ...p, seq: r.value.seqs[i] as number }));
    if (!this.deps.queue.sync) {
      this.acknowledge(committed);
      return;
    }
    this.unsynced.push(...committed);
    this.syncPushes();
  }

  /** One `sync` at a time; it covers every push committed before it began. */
  private syncPushes(): void {
    const sync = this.deps.queue.sync;
    if (!sync || this.syncing || this.unsynced.length === 0) return;
    this.syncing = true;
    const covered = this.unsynced.splice(0);
    sync.call(this.deps.queue, (r) => {
      this.syncing = false;
      if (this.closed) {
        const error: ApiError = { code: 'unavailable', message: 'the daemon is shutting down' };
        for (const p of [...covered, ...this.unsynced.splice(0)]) p.resolve({ ok: false, error });
        return;
      }
      if (r.ok) this.acknowledge(covered);
      else for (const p of covered) p.resolve({ ok: false, error: fromPort(r.error) });
      this.syncPushes();
    });
  }

  private acknowledge(pushes: CommittedPush[]): void {
    const perWorker = new Map<string, number>();
    for (const p of pushes) {
      p.resolve({ ok: true, value: { id: p.item.id, seq: p.seq } });
      perWorker.set(p.item.worker, (perWorker.get(p.item.worker) ?? 0) + 1);
    }
    for (const [name, count] of perWorker) this.apply(name, { type: 'pushed', count });
  }

  listWorkers(): WorkerView[] {
    const views: WorkerView[] = [];
    for (const name of this.recs.keys()) {
      const v = this.getWorker(name);
      if (v.ok) views.push(v.value);
    }
    return views;
  }

  getWorker(name: string): ApiResult<WorkerView> {
    const rec = this.recs.get(name);
    if (!rec) return { ok: false, error: noWorker(name) };
    const q = this.deps.queue;
    const depth = q.depth(name);
    const counters = q.counters(name);
    const dead = q.dead(name, LIST_LIMIT_DEFAULT);
    if (!depth.ok) return { ok: false, error: fromPort(depth.error) };
    if (!counters.ok) return { ok: false, error: fromPort(counters.error) };
    if (!dead.ok) return { ok: false, error: fromPort(dead.error) };
    const p = this.prepared.get(name);
    const prepared = p ? { taskId: p.taskId, pid: p.pid, attempt: p.attempt } : null;
    return {
      ok: true,
      value: workerView(rec, depth.value, counters.value, dead.value, prepared),
    };
  }

  listTasks(
    name: string,
    options: { dead: boolean; limit?: number },
  ): ApiResult<TaskRow[] | DeadLetter[]> {
    if (!this.recs.has(name)) return { ok: false, error: noWorker(name) };
    const q = this.deps.queue;
    const limit = options.limit ?? LIST_LIMIT_DEFAULT;
    const r = options.dead ? q.dead(name, limit) : q.tasks(name, limit);
    if (!r.ok) return { ok: false, error: fromPort(r.error) };
    return { ok: true, value: r.value };
  }

  retryTask(name: string, taskId: string): ApiResult<TaskRow> {
    if (!this.recs.has(name)) return { ok: false, error: noWorker(name) };
    const r = this.deps.queue.retry(name, taskId);
    if (!r.ok) return { ok: false, error: fromPort(r.error) };
    this.event('worker-task-retry', { worker: name, task: taskId });
    this.apply(name, { type: 'pushed', count: 1 });
    return r;
  }

  dropWorker(name: string, options: { force: boolean }): Promise<ApiResult<true>> {
    const force = options.force;
    const rec = this.recs.get(name);
    if (!rec) return Promise.resolve({ ok: false, error: noWorker(name) });
    const depth = this.deps.queue.depth(name);
    const live = { ...rec, depth: depth.ok ? depth.value : rec.depth };
    const decision = decideDrop(live, force);
    if (decision === 'refuse') {
      const message =
        `worker "${name}" still has ${live.depth} task(s); ` +
        `drop it with --force to discard them, or wait until its queue is empty`;
      return Promise.resolve({ ok: false, error: { code: 'conflict', message, field: 'force' } });
    }
    return new Promise((resolve) => {
      const list = this.dropWaiters.get(name) ?? [];
      list.push(resolve);
      this.dropWaiters.set(name, list);
      this.apply(name, { type: 'drain' });
    });
  }
}

const noWorker = (name: string): ApiError => ({
  code: 'not_found',
  message: `no worker "${name}"`,
});

const fromPort0 = (e: PortError): { ok: false; error: ApiError } => ({
  ok: false,
  error: fromPort(e),
});

const noQueue: ApiError = {
  code: 'unavailable',
  message: 'workers need the queue store, and this supervisor has none',
};

/** The worker methods of a supervisor built without a queue store: each refuses. */
export const UNAVAILABLE_WORKERS: WorkerSupervisor = {
  createWorker: () => ({ ok: false, error: noQueue }),
  pushTask: () => Promise.resolve({ ok: false, error: noQueue }),
  listWorkers: () => [],
  getWorker: () => ({ ok: false, error: noQueue }),
  listTasks: () => ({ ok: false, error: noQueue }),
  retryTask: () => ({ ok: false, error: noQueue }),
  dropWorker: () => Promise.resolve({ ok: false, error: noQueue }),
};
