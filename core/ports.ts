/**
 * The world, as the core sees it. Production implementations live in `adapters/`, the
 * simulated ones in `sim/`; the engine cannot tell them apart. Every port is synchronous
 * and event-shaped: calls return at once, and what happens later comes back as events
 * through the listener the runtime registers. No method may throw for an expected
 * failure: those are values (`PortError`). A throw is a bug.
 */

import type { LogRotation, Namespaces, OutputName } from './manifest/types.js';

/** Closed set of failure reasons, mapped from errno by adapters (ENOENT→NotFound, …). */
export type PortReason =
  | 'NotFound' // ENOENT, ESRCH
  | 'PermissionDenied' // EACCES, EPERM
  | 'Busy' // EBUSY, EAGAIN
  | 'Exists' // EEXIST
  | 'InvalidArgument' // EINVAL, E2BIG, ENOEXEC
  | 'LimitExceeded' // ENOMEM, EMFILE, ENFILE, ENOSPC
  | 'Unsupported' // ENOSYS, ENOTSUP, EOPNOTSUPP
  | 'Corrupt' // a stored file that does not decode
  | 'Unknown';

export type PortName = 'Clock' | 'Kernel' | 'Cgroups' | 'Store' | 'EventLog' | 'Ids' | 'QueueStore';

export interface PortError {
  _tag: 'PortError';
  port: PortName;
  method: string;
  reason: PortReason;
  /** Human sentence, e.g. `exec /nope: No such file or directory`. */
  message: string;
  errno?: number;
  syscall?: string;
  path?: string;
}

export type PortResult<T> = { ok: true; value: T } | { ok: false; error: PortError };

// ── Clock ──────────────────────────────────────────────────────────────────────────

export type TimerHandle = number;

export interface Clock {
  /** Monotonic integer milliseconds. The only clock decisions use. */
  nowMs(): number;
  /** Wall clock, ms since the epoch: for persisted and displayed timestamps only. */
  wallMs(): number;
  /** Call `fire` once when `nowMs() >= atMs`. */
  setTimer(atMs: number, fire: () => void): TimerHandle;
  clearTimer(handle: TimerHandle): void;
}

// ── Kernel ─────────────────────────────────────────────────────────────────────────

export type SignalName = 'SIGTERM' | 'SIGKILL' | 'SIGINT' | 'SIGHUP' | 'SIGUSR1' | 'SIGUSR2';

/** The resource envelope applied in the child between fork and exec. */
export interface Envelope {
  /** 0 = leave as inherited. */
  rlimits: { nofile: number; nproc: number };
  namespaces: Namespaces;
  /** Handle returned by `Cgroups.create`, or null: the child is placed there before exec. */
  cgroup: string | null;
}

export interface ProcRequest {
  exec: string;
  argv: string[];
  envp: string[];
  /** '' = the daemon's cwd. */
  cwd: string;
  envelope: Envelope;
  /** Give the child a NOTIFY_SOCKET (sd_notify); messages come back as `notify` events. */
  notify: boolean;
  /**
   * The watchdog period in µs (0 = none): the adapter sets WATCHDOG_USEC to it and
   * WATCHDOG_PID to the child's pid, as systemd does, so sd_watchdog_enabled() works.
   */
  watchdogUs: number;
  /** User and group names (or numeric ids) to run as; absent or '' = the daemon's. */
  user?: string;
  group?: string;
  /** Bytes the child reads on stdin, then EOF (a worker's task). Absent: /dev/null. */
  stdin?: Uint8Array;
  /** Rotation of its captured stdout/stderr; absent (or a 0 field) = the adapter's default. */
  logs?: LogRotation;
}

export interface GroupEdge {
  from: number;
  fromOutput: OutputName;
  to: number;
}

export interface GroupTap {
  edgeIndex: number;
  /** First bytes of the edge handed back as one `tap-sample` event. */
  sampleBytes: number;
  replayChunks: number;
  replayBytes: number;
}

export interface GroupRequest {
  nodes: ProcRequest[];
  edges: GroupEdge[];
  taps: GroupTap[];
  /** Per tapped/pumped edge; 0 = unlimited. */
  maxBytesPerSec: number;
}

export interface TapInfo {
  edgeIndex: number;
  /** Unix socket path readers attach to (`flow tail`). */
  socketPath: string;
}

export type KernelEvent =
  | {
      type: 'exit';
      pid: number;
      code: number | null;
      signal: SignalName | string | null;
      /**
       * Set when the exit status could not be read (waitid failed, e.g. `waitid: ECHILD`):
       * the process is gone but how it ended is unknown; `signal` is then 'UNKNOWN'.
       */
      statusUnknown?: string;
      /**
       * A held process (`prepare`) failed its exec after `start` returned: it ran nothing
       * of the program, and this is the error `spawn` would have returned.
       */
      startFailed?: string;
    }
  | { type: 'tap-sample'; key: string; edgeIndex: number; bytes: Uint8Array }
  | { type: 'notify'; pid: number; message: string };

export interface ProcStats {
  /** Processes alive in the trees rooted at the given pids (roots included). */
  alive: number;
  rssBytes: number;
  cpuUs: number;
}

export interface Kernel {
  /**
   * Start one process. `key` names its captured stdout/stderr (the command id); a
   * restarted command reuses its key and its logs continue. Exec failure is an error
   * value, synchronously, never a process that exits 127.
   */
  spawn(key: string, req: ProcRequest): PortResult<{ pid: number }>;
  /**
   * Optional: make a process ready to run `req` but hold it before exec, so a later
   * `start` costs only the exec (a worker prepares its next task while the current one
   * runs). Nothing of the program runs until `start`; a held process that dies comes as
   * an exit of its pid. Setup failures are errors here, as for `spawn`.
   */
  prepare?(key: string, req: ProcRequest): PortResult<{ pid: number }>;
  /** The held process execs now: the result `spawn` would have given (exec failure too). */
  start?(pid: number): PortResult<{ pid: number }>;
  /** A held process that will not run: ended, and its exit is not reported. */
  abandon?(pid: number): void;
  /** Start a wired graph atomically: on failure nothing of it is left running. */
  spawnGroup(key: string, req: GroupRequest): PortResult<{ pids: number[]; taps: TapInfo[] }>;
  /** ESRCH (already gone) is not an error. */
  signal(pid: number, signal: SignalName): void;
  sample(pids: number[]): ProcStats;
  /** Release what the adapter holds for `key` once nothing of it is alive (pipes, sockets). */
  release(key: string): void;
  onEvent(listener: (event: KernelEvent) => void): void;
}

// ── Cgroups ────────────────────────────────────────────────────────────────────────

export interface CgroupCaps {
  version: 'v1' | 'v2' | 'hybrid' | 'none';
  /** A subtree under the daemon's cgroup that shipote may write, with memory and pids. */
  delegated: boolean;
  controllers: string[];
  writable: boolean;
  userNamespaces: boolean;
  pidfd: boolean;
  cloneIntoCgroup: boolean;
  /** Absolute path of the daemon's own cgroup (v2) or memory hierarchy cgroup (v1). */
  root: string | null;
  /** Why not delegated, when not. */
  reasons: string[];
}

export interface CgroupLimits {
  /** 0 = no limit. */
  memBytes: number;
  /** 0 = no limit. */
  pids: number;
}

export interface CgroupStats {
  memBytes: number;
  memPeakBytes: number;
  cpuUs: number;
  pids: number;
  /** memory.events oom_kill (v2) or memory.oom_control oom_kill (v1). */
  oomKills: number;
}

export interface Cgroups {
  caps(): CgroupCaps;
  /** `relPath` is relative to the daemon's cgroup, already validated. Returns a handle. */
  create(relPath: string, limits: CgroupLimits): PortResult<{ handle: string }>;
  stats(handle: string): PortResult<CgroupStats>;
  /** Kill every process in it (cgroup.kill on v2, a signal loop on v1). */
  kill(handle: string): PortResult<{ killed: number }>;
  remove(handle: string): PortResult<true>;
}

// ── Store ──────────────────────────────────────────────────────────────────────────

export type StoreRead =
  | { kind: 'empty' }
  | { kind: 'text'; text: string }
  | { kind: 'error'; error: PortError };

export interface Store {
  read(): StoreRead;
  /** Atomic and durable: after ok, a crash leaves either the old or the new text, whole. */
  write(text: string): PortResult<true>;
  /** Move the current file aside (corrupt or newer version); returns where it went. */
  setAside(reason: string): PortResult<{ path: string }>;
}

// ── EventLog ───────────────────────────────────────────────────────────────────────

/** One lifecycle event; rendered as logfmt `ts=… ev=… k=v…` by the file adapter. */
export interface LifecycleEvent {
  wallMs: number;
  ev: string;
  fields: Record<string, string | number | boolean>;
}

export interface EventLog {
  append(event: LifecycleEvent): void;
}

// ── Ids ────────────────────────────────────────────────────────────────────────────

export interface Ids {
  /** A new ULID. */
  next(): string;
}

export interface Ports {
  clock: Clock;
  kernel: Kernel;
  cgroups: Cgroups;
  store: Store;
  eventLog: EventLog;
  ids: Ids;
  /** The durable task queue of workers; absent: workers are refused as unavailable. */
  queue?: QueueStore;
}

// ── QueueStore ─────────────────────────────────────────────────────────────────────

/**
 * A worker as declared: the command template each task runs with. Kept in the queue
 * store beside its tasks, so a worker and its queue are created and dropped together.
 */
export interface WorkerDef {
  name: string;
  /** The workspace the tasks run in (its id, as restored). */
  wsId: string;
  exec: string;
  argv: string[];
  /** `KEY=value` entries added to every task's environment. */
  env: string[];
  cwd: string;
  backoffMsInitial: number;
  backoffMsMax: number;
  /** 0 = no timeout. */
  timeoutMs: number;
  /** SIGTERM → SIGKILL grace past `timeoutMs`; absent: TASK_KILL_GRACE_MS (older defs). */
  killGraceMs?: number;
  /** More than this many failures of one task within `crashLoopWindowMs` dead-letters it. */
  crashLoopMax: number;
  crashLoopWindowMs: number;
  createdAtWallMs: number;
}

export interface TaskRow {
  /** ULID. */
  id: string;
  worker: string;
  /** Push order, global and increasing: delivery follows it. */
  seq: number;
  payload: Uint8Array;
  /** Deliveries started so far (recorded before each spawn). */
  attempt: number;
  /** `running`: a delivery was recorded and no outcome since (the daemon may have died). */
  state: 'queued' | 'running';
  pushedAtWallMs: number;
}

/** How one delivery ended. */
export interface TaskResult {
  code: number | null;
  signal: string | null;
  /** `timeout` when the daemon killed it for `timeoutMs`. */
  reason: 'exit' | 'signal' | 'timeout' | 'spawn-failed';
  stderrTail: string;
  wallMs: number;
}

export interface DeadLetter extends TaskRow {
  last: TaskResult;
}

export interface WorkerCounters {
  pushed: number;
  done: number;
  failed: number;
  dead: number;
  /** The last outcome recorded, if any. */
  last: (TaskResult & { taskId: string }) | null;
}

export interface QueuePush {
  worker: string;
  id: string;
  payload: Uint8Array;
  pushedAtWallMs: number;
}

/**
 * The durable task queue. Every write is one transaction, committed durably before the
 * call returns ok (production: SQLite, WAL, synchronous=FULL); after an error nothing of
 * that call is stored. Reads see every committed write.
 */
export interface QueueStore {
  workers(): PortResult<WorkerDef[]>;
  /** Refused (`Exists`) when a worker of that name exists. */
  createWorker(def: WorkerDef): PortResult<true>;
  /** Removes the worker, its tasks, dead letters and counters. */
  dropWorker(name: string): PortResult<{ tasks: number; dead: number }>;
  /**
   * All in one transaction: every push stored, or none (`LimitExceeded` when full). With
   * `sync`, stored but durable only once a later `sync` reported ok.
   */
  push(items: QueuePush[]): PortResult<{ seqs: number[] }>;
  /**
   * Group commit off the caller's thread: makes every push committed so far durable
   * (production: one fsync of the WAL in the thread pool), then calls `done`. Pushes are
   * acknowledged only then, and `head` never returns a task not yet durable. Absent: a
   * push is durable when `push` returns.
   */
  sync?(done: (result: PortResult<true>) => void): void;
  /** The oldest durable task of the worker, or null. */
  head(worker: string): PortResult<TaskRow | null>;
  /** Record a delivery: attempt + 1, state running. Returns the new attempt. */
  startAttempt(worker: string, taskId: string): PortResult<{ attempt: number }>;
  /** Exit 0: the task is removed and `done` counted, in one transaction. */
  complete(worker: string, taskId: string, result: TaskResult): PortResult<true>;
  /** A failed delivery: the task stays at the head (state queued), `failed` counted. */
  fail(worker: string, taskId: string, result: TaskResult): PortResult<true>;
  /** A failed delivery past the crash-loop bound: moved to the dead letters. */
  bury(worker: string, taskId: string, result: TaskResult): PortResult<true>;
  /** A dead letter back to the tail of the queue (a new seq), its attempt count kept. */
  retry(worker: string, taskId: string): PortResult<TaskRow>;
  tasks(worker: string, limit: number): PortResult<TaskRow[]>;
  /** The deliverable task after `afterSeq` (as `head`, after it: durable pushes only). */
  next(worker: string, afterSeq: number): PortResult<TaskRow | null>;
  dead(worker: string, limit: number): PortResult<DeadLetter[]>;
  depth(worker: string): PortResult<number>;
  counters(worker: string): PortResult<WorkerCounters>;
}
