/**
 * A worker (docs/CONTRACT.md §4, §9): a command template fed one task at a time from a
 * durable serial queue. This module is the worker's decisions only, as one pure
 * transition `workerStep(rec, event, nowMs) → {rec, effects}` over an explicit
 * `state × event` table. The queue itself lives in the QueueStore port; the effects say
 * what to record there and in which order, and the shell (worker-host.ts) runs them in
 * order, stopping at the first durable write that fails and feeding `store-failed` back.
 *
 * The guarantees follow from the order of effects:
 * - a delivery is recorded (`record-start`, attempt + 1) before its process is spawned, so
 *   a task that was running when the daemon died comes back with a higher attempt;
 * - a task is removed (`record-done`) only after its process exited 0, and the next head
 *   is loaded only after that removal committed: delivery in push order, never twice
 *   after a recorded success;
 * - at most one process per worker: a spawn is only asked for from `delivering`, and the
 *   state leaves `running` (or `stopping`) only on that process's exit;
 * - a task is ended gently: SIGTERM, then SIGKILL after a grace (the worker's `killGraceMs`
 *   past its `timeoutMs`; the workspace's stop grace when its workspace stops). A task ended
 *   with its workspace is not a failure of the task: it stays at the head, unrecorded, and
 *   its next delivery is a new attempt (at-least-once).
 */

import { TASK_KILL_GRACE_MS } from '../manifest/worker.js';
import { nextBackoffMs, recordDeath } from '../policy/index.js';
import type { ProcRequest, SignalName, TaskResult, TaskRow, WorkerDef } from '../ports.js';
import { dispatch, type Table } from './cells.js';
import type { ApiError } from './errors.js';

export type WorkerState = 'idle' | 'delivering' | 'running' | 'stopping' | 'backoff' | 'draining';

export interface WorkerRec {
  def: WorkerDef;
  state: WorkerState;
  /** Tasks in the queue, the head included (as of the last load, plus pushes since). */
  depth: number;
  /** The task being delivered, run or waited on; null when idle. */
  head: TaskRow | null;
  pid: number | null;
  /** The attempt of the head's current (or last) delivery. */
  attempt: number;
  startedAtMs: number;
  /** Failures of task `deathsTaskId` within the crash-loop window. */
  deathsMs: number[];
  /** The task `deathsMs` and `backoffMs` are about: a new head starts afresh. */
  deathsTaskId: string | null;
  /** The delay the next failure waits. */
  backoffMs: number;
  /** The running process was killed for `timeoutMs`. */
  timedOut: boolean;
  /** Why the worker waits without counting a failure (store error, workspace down). */
  held: string | null;
}

export type WorkerEvent =
  /** `count` tasks were committed to the queue (push or retry). */
  | { type: 'pushed'; count: number }
  /** The shell loaded the head of the queue (after a `load-head` effect). */
  | { type: 'head'; task: TaskRow | null; depth: number }
  | { type: 'spawned'; pid: number }
  | { type: 'spawn-failed'; message: string }
  /** The task cannot be delivered now for a reason that is not the task's fault. */
  | { type: 'blocked'; message: string }
  /** `startFailed`: a prepared process failed its exec after its start (it ran nothing). */
  | {
      type: 'exited';
      code: number | null;
      signal: string | null;
      stderrTail: string;
      startFailed?: string;
    }
  | { type: 'timer'; kind: WorkerTimer }
  /** A durable write failed: nothing of it was stored, and the effects after it never ran. */
  | { type: 'store-failed'; message: string }
  /** `drop --force` while a task runs: end it, then drop. */
  | { type: 'drain' }
  /** The worker's workspace is stopping: its running task ends with it (SIGTERM, grace). */
  | { type: 'suspend'; graceMs: number; why: string };

/** `kill`: the grace after a SIGTERM is over. */
export type WorkerTimer = 'backoff' | 'timeout' | 'kill';

export { TASK_KILL_GRACE_MS };

/** How long a timed-out task has, after SIGTERM, before SIGKILL. */
export function killGraceMsOf(def: WorkerDef): number {
  return def.killGraceMs ?? TASK_KILL_GRACE_MS;
}

export type WorkerEffect =
  | { type: 'load-head' }
  | { type: 'record-start'; taskId: string; attempt: number }
  /** The shell adds the workspace's envelope (or sends `blocked` when it is not running). */
  | { type: 'spawn'; taskId: string; attempt: number; req: TaskProcRequest }
  | { type: 'record-done'; taskId: string; result: TaskResult }
  | { type: 'record-failed'; taskId: string; result: TaskResult }
  | { type: 'record-dead'; taskId: string; result: TaskResult }
  | { type: 'arm-timer'; kind: WorkerTimer; atMs: number }
  | { type: 'cancel-timer'; kind: WorkerTimer }
  | { type: 'signal'; pid: number; signal: SignalName }
  | { type: 'drop' }
  | { type: 'append-event'; ev: string; fields: Record<string, string | number | boolean> };

export interface WorkerStepResult {
  rec: WorkerRec;
  effects: WorkerEffect[];
}

export type TaskProcRequest = Omit<ProcRequest, 'envelope'>;

export const STDERR_TAIL_BYTES_MAX = 1024;

export function newWorker(def: WorkerDef, depth: number): WorkerRec {
  return {
    def,
    state: 'idle',
    depth,
    head: null,
    pid: null,
    attempt: 0,
    startedAtMs: 0,
    deathsMs: [],
    deathsTaskId: null,
    backoffMs: def.backoffMsInitial,
    timedOut: false,
    held: null,
  };
}

class Step {
  readonly effects: WorkerEffect[] = [];
  constructor(
    public rec: WorkerRec,
    readonly nowMs: number,
    readonly wallMs: number,
  ) {}
  set(patch: Partial<WorkerRec>): void {
    this.rec = { ...this.rec, ...patch };
  }
  emit(effect: WorkerEffect): void {
    this.effects.push(effect);
  }
  event(ev: string, fields: Record<string, string | number | boolean>): void {
    this.emit({ type: 'append-event', ev, fields: { worker: this.rec.def.name, ...fields } });
  }
  /** No worker cell refuses: every request is decided before a step (decideDrop). */
  refuse(error: ApiError): void {
    throw new Error(`worker ${this.rec.def.name}: refused in a step: ${error.message}`);
  }
}

/** A handler of this module, as a cell of the engine's shared table type (table.ts). */
function on<E>(handler: (s: Step, e: E) => void): (s: Step, rec: WorkerRec, e: E) => void {
  return (s, _rec, e) => handler(s, e);
}

/** Ask for the head of the queue (the only way out of idle/backoff into a delivery). */
function loadHead(s: Step): void {
  s.set({ state: 'delivering', head: null, pid: null, timedOut: false });
  s.emit({ type: 'load-head' });
}

function onPushedIdle(s: Step, e: { count: number }): void {
  s.set({ depth: s.rec.depth + e.count });
  loadHead(s);
}

function onPushedCount(s: Step, e: { count: number }): void {
  s.set({ depth: s.rec.depth + e.count });
}

function onHead(s: Step, e: { task: TaskRow | null; depth: number }): void {
  const task = e.task;
  if (!task) {
    s.set({ state: 'idle', head: null, depth: 0, held: null });
    return;
  }
  const attempt = task.attempt + 1;
  s.set({ head: task, depth: Math.max(1, e.depth), attempt, held: null });
  if (s.rec.deathsTaskId !== task.id) {
    s.set({ deathsMs: [], deathsTaskId: task.id, backoffMs: s.rec.def.backoffMsInitial });
  }
  s.emit({ type: 'record-start', taskId: task.id, attempt });
  s.emit({ type: 'spawn', taskId: task.id, attempt, req: taskRequest(s.rec.def, task, attempt) });
}

/** The process for one delivery: the task on stdin, its id and attempt in the env. */
export function taskRequest(def: WorkerDef, task: TaskRow, attempt: number): TaskProcRequest {
  const own = new Set(['SHIPOTE_TASK_ID', 'SHIPOTE_TASK_ATTEMPT', 'SHIPOTE_WORKER']);
  const envp = def.env.filter((kv) => !own.has(kv.slice(0, kv.indexOf('='))));
  envp.push(`SHIPOTE_TASK_ID=${task.id}`, `SHIPOTE_TASK_ATTEMPT=${attempt}`);
  envp.push(`SHIPOTE_WORKER=${def.name}`);
  return {
    exec: def.exec,
    argv: def.argv,
    envp,
    cwd: def.cwd,
    notify: false,
    watchdogUs: 0,
    stdin: task.payload,
  };
}

function onSpawned(s: Step, e: { pid: number }): void {
  const head = s.rec.head;
  if (!head) throw new Error(`worker ${s.rec.def.name}: spawned with no head`);
  s.set({ state: 'running', pid: e.pid, startedAtMs: s.nowMs, timedOut: false });
  s.event('worker-task-start', { task: head.id, attempt: s.rec.attempt, pid: e.pid });
  if (s.rec.def.timeoutMs > 0) {
    s.emit({ type: 'arm-timer', kind: 'timeout', atMs: s.nowMs + s.rec.def.timeoutMs });
  }
}

function onSpawnFailed(s: Step, e: { message: string }): void {
  failed(s, { code: null, signal: null, reason: 'spawn-failed', stderrTail: e.message });
}

/** Not the task's fault (workspace stopped, store error): wait a backoff, count nothing. */
function onBlocked(s: Step, e: { message: string }): void {
  s.set({ state: 'backoff', held: e.message, head: null, pid: null });
  s.emit({ type: 'arm-timer', kind: 'backoff', atMs: s.nowMs + s.rec.backoffMs });
  s.set({ backoffMs: nextBackoffMs(s.rec.backoffMs, backoffPolicy(s.rec.def)) });
}

function onStoreFailed(s: Step, e: { message: string }): void {
  s.event('worker-store-failed', { message: e.message });
  onBlocked(s, e);
}

type Exit = Extract<WorkerEvent, { type: 'exited' }>;

function cancelRunTimers(s: Step): void {
  if (s.rec.def.timeoutMs > 0) s.emit({ type: 'cancel-timer', kind: 'timeout' });
  s.emit({ type: 'cancel-timer', kind: 'kill' });
}

function onExited(s: Step, e: Exit) {
  cancelRunTimers(s);
  if (e.startFailed !== undefined) {
    failed(s, { code: null, signal: null, reason: 'spawn-failed', stderrTail: e.startFailed });
    return;
  }
  const tail = e.stderrTail.slice(-STDERR_TAIL_BYTES_MAX);
  if (s.rec.timedOut) {
    failed(s, { code: e.code, signal: e.signal, reason: 'timeout', stderrTail: tail });
    return;
  }
  if (e.code === 0 && e.signal === null) {
    succeeded(s);
    return;
  }
  const reason = e.signal === null ? 'exit' : 'signal';
  failed(s, { code: e.code, signal: e.signal, reason, stderrTail: tail });
}

function succeeded(s: Step): void {
  const head = mustHead(s);
  const result: TaskResult = {
    code: 0,
    signal: null,
    reason: 'exit',
    stderrTail: '',
    wallMs: s.wallMs,
  };
  const runMs = s.nowMs - s.rec.startedAtMs;
  s.emit({ type: 'record-done', taskId: head.id, result });
  s.event('worker-task-done', { task: head.id, attempt: s.rec.attempt, run_ms: runMs });
  s.set({ depth: Math.max(0, s.rec.depth - 1), deathsMs: [], deathsTaskId: null });
  s.set({ backoffMs: s.rec.def.backoffMsInitial });
  loadHead(s);
}

function failed(s: Step, r: Omit<TaskResult, 'wallMs'>): void {
  const head = mustHead(s);
  const result: TaskResult = { ...r, wallMs: s.wallMs };
  const policy = { deathsMax: s.rec.def.crashLoopMax, windowMs: s.rec.def.crashLoopWindowMs };
  const guard = recordDeath(s.rec.deathsMs, s.nowMs, policy);
  const fields = {
    task: head.id,
    attempt: s.rec.attempt,
    code: r.code ?? -1,
    signal: r.signal ?? '',
    reason: r.reason,
  };
  if (guard.crashLoop) {
    s.emit({ type: 'record-dead', taskId: head.id, result });
    s.event('worker-task-dead', { ...fields, failures: guard.deathsMs.length });
    s.set({ depth: Math.max(0, s.rec.depth - 1), deathsMs: [], deathsTaskId: null });
    s.set({ backoffMs: s.rec.def.backoffMsInitial });
    loadHead(s);
    return;
  }
  const delayMs = s.rec.backoffMs;
  s.emit({ type: 'record-failed', taskId: head.id, result });
  s.event('worker-task-failed', { ...fields, backoff_ms: delayMs });
  s.set({ state: 'backoff', pid: null, deathsMs: guard.deathsMs, deathsTaskId: head.id });
  s.emit({ type: 'arm-timer', kind: 'backoff', atMs: s.nowMs + delayMs });
  s.set({ backoffMs: nextBackoffMs(delayMs, backoffPolicy(s.rec.def)) });
}

function backoffPolicy(def: WorkerDef) {
  return {
    restartOnFailure: true,
    backoffMsInitial: def.backoffMsInitial,
    backoffMsMax: def.backoffMsMax,
    restartMax: 0,
    resetAfterMs: 0,
  };
}

function mustHead(s: Step): TaskRow {
  const head = s.rec.head;
  if (!head) throw new Error(`worker ${s.rec.def.name}: no head in state ${s.rec.state}`);
  return head;
}

function mustPid(s: Step): number {
  const pid = s.rec.pid;
  if (pid === null) throw new Error(`worker ${s.rec.def.name}: no process in ${s.rec.state}`);
  return pid;
}

/** SIGTERM now, SIGKILL when the grace is over (at once without a grace). */
function endGently(s: Step, pid: number, graceMs: number): void {
  if (graceMs <= 0) {
    s.emit({ type: 'signal', pid, signal: 'SIGKILL' });
    return;
  }
  s.emit({ type: 'signal', pid, signal: 'SIGTERM' });
  s.emit({ type: 'arm-timer', kind: 'kill', atMs: s.nowMs + graceMs });
}

function onTimeout(s: Step): void {
  const pid = mustPid(s);
  s.set({ timedOut: true });
  const fields = { task: mustHead(s).id, pid, timeout_ms: s.rec.def.timeoutMs };
  const graceMs = killGraceMsOf(s.rec.def);
  s.event('worker-task-timeout', { ...fields, grace_ms: graceMs });
  endGently(s, pid, graceMs);
}

function onKillTimer(s: Step): void {
  s.emit({ type: 'signal', pid: mustPid(s), signal: 'SIGKILL' });
}

function onRunningTimer(s: Step, e: { kind: WorkerTimer }): void {
  if (e.kind === 'timeout' && !s.rec.timedOut) onTimeout(s);
  else if (e.kind === 'kill') onKillTimer(s);
}

/** The workspace stops: the task ends with it, and the worker waits (nothing recorded). */
function onSuspendRunning(s: Step, e: { graceMs: number; why: string }): void {
  const pid = mustPid(s);
  s.set({ state: 'stopping', held: e.why });
  s.event('worker-task-stop', { task: mustHead(s).id, pid, grace_ms: e.graceMs });
  if (s.rec.def.timeoutMs > 0) s.emit({ type: 'cancel-timer', kind: 'timeout' });
  s.emit({ type: 'cancel-timer', kind: 'kill' });
  endGently(s, pid, e.graceMs);
}

function onStoppedExit(s: Step, e: Exit): void {
  cancelRunTimers(s);
  const head = mustHead(s);
  const fields = { task: head.id, attempt: s.rec.attempt, code: e.code ?? -1 };
  s.event('worker-task-stopped', { ...fields, signal: e.signal ?? '' });
  onBlocked(s, { message: s.rec.held ?? 'workspace stopped' });
}

function onDrainRunning(s: Step): void {
  s.set({ state: 'draining' });
  s.emit({ type: 'signal', pid: mustPid(s), signal: 'SIGKILL' });
}

function onDrainAtRest(s: Step): void {
  s.emit({ type: 'cancel-timer', kind: 'backoff' });
  s.set({ state: 'draining', head: null, pid: null });
  s.emit({ type: 'drop' });
}

function onDrainedExit(s: Step): void {
  cancelRunTimers(s);
  s.set({ pid: null, head: null });
  s.emit({ type: 'drop' });
}

/**
 * The table, of the engine's shared `state × event` type and dispatched like the engine's
 * own (table.ts). `ignore`: a late or duplicate event with nothing to decide (a timer
 * that fired after its state was left). `bug`: the shell never sends it in that state.
 */
const TABLE: Table<WorkerState, WorkerEvent, WorkerRec, Step> = {
  idle: {
    pushed: on(onPushedIdle),
    head: 'bug',
    spawned: 'bug',
    'spawn-failed': 'bug',
    blocked: 'bug',
    exited: 'bug',
    timer: 'ignore',
    'store-failed': on(onStoreFailed),
    drain: on(onDrainAtRest),
    suspend: 'ignore', // the next delivery finds the workspace down and waits
  },
  delivering: {
    pushed: on(onPushedCount),
    head: on(onHead),
    spawned: on(onSpawned),
    'spawn-failed': on(onSpawnFailed),
    blocked: on(onBlocked),
    exited: 'bug',
    timer: 'ignore',
    'store-failed': on(onStoreFailed),
    drain: on(onDrainAtRest),
    suspend: 'ignore', // the spawn finds the workspace down and reports `blocked`
  },
  running: {
    pushed: on(onPushedCount),
    head: 'bug',
    spawned: 'bug',
    'spawn-failed': 'bug',
    blocked: 'bug',
    exited: on(onExited),
    timer: on(onRunningTimer),
    'store-failed': 'bug',
    drain: on(onDrainRunning),
    suspend: on(onSuspendRunning),
  },
  stopping: {
    pushed: on(onPushedCount),
    head: 'bug',
    spawned: 'bug',
    'spawn-failed': 'bug',
    blocked: 'bug',
    exited: on(onStoppedExit),
    timer: on((s, e) => (e.kind === 'kill' ? onKillTimer(s) : undefined)),
    'store-failed': 'bug',
    drain: on(onDrainRunning),
    suspend: 'ignore',
  },
  backoff: {
    pushed: on(onPushedCount),
    head: 'bug',
    spawned: 'bug',
    'spawn-failed': 'bug',
    blocked: 'bug',
    exited: 'bug',
    timer: on((s, e) => (e.kind === 'backoff' ? loadHead(s) : undefined)),
    // Recording the failure itself failed: wait again, then reload the head.
    'store-failed': on(onStoreFailed),
    drain: on(onDrainAtRest),
    suspend: 'ignore',
  },
  draining: {
    pushed: 'ignore',
    head: 'ignore',
    spawned: 'bug',
    'spawn-failed': 'ignore',
    blocked: 'ignore',
    exited: on(onDrainedExit),
    timer: 'ignore',
    'store-failed': 'ignore',
    drain: 'ignore',
    suspend: 'ignore',
  },
};

export function workerStep(
  rec: WorkerRec,
  event: WorkerEvent,
  nowMs: number,
  wallMs: number,
): WorkerStepResult {
  if (!Number.isInteger(nowMs)) throw new Error(`workerStep: nowMs must be an integer`);
  const s = new Step(rec, nowMs, wallMs);
  dispatch(s, TABLE, rec.state, rec, event, { name: `worker ${rec.def.name}` });
  assertWorker(s.rec);
  return { rec: s.rec, effects: s.effects };
}

/** Positive and negative space of each state, checked after every step. */
function assertWorker(rec: WorkerRec): void {
  const bad = (what: string) => new Error(`worker ${rec.def.name} (${rec.state}): ${what}`);
  const live = rec.state === 'running' || rec.state === 'stopping';
  if (live && (rec.pid === null || rec.head === null)) {
    throw bad('running without a process or a head');
  }
  if (!live && rec.state !== 'draining' && rec.pid !== null) {
    throw bad(`pid ${rec.pid} outside running`);
  }
  if (rec.state === 'idle' && rec.head !== null) throw bad('idle with a head');
  if (rec.depth < 0) throw bad(`negative depth ${rec.depth}`);
}

/** Drop decision: refused while tasks remain unless forced; a running task is ended first. */
export type DropDecision = 'refuse' | 'now' | 'drain';

export function decideDrop(rec: WorkerRec, force: boolean): DropDecision {
  if (rec.depth > 0 && !force) return 'refuse';
  return rec.state === 'running' || rec.state === 'stopping' ? 'drain' : 'now';
}
