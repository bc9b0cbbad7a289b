/**
 * The supervisor as the daemon (and the simulator runner) drives it. Implemented by
 * `createSupervisor` in `core/engine/supervisor.ts`, which keeps the pure
 * `step(state, event, nowMs) → {state, effects}` machine and executes its effects through
 * the ports. Every method is synchronous except the stops and restarts, which resolve once
 * the grace period has run and the processes are reaped (a restart: once it runs again).
 *
 * References (`ref`) are a workspace id or its unique label.
 */

import type { CommandSpec, LogRotation, PipelineSpec, WorkspaceSpec } from '../manifest/types.js';
import type { WorkerSpec } from '../manifest/worker.js';
import type { Policy } from '../policy/index.js';
import type { DeadLetter, LifecycleEvent, Ports, TaskRow } from '../ports.js';
import type { WorkerView } from './worker-views.js';

export type { ApiError, ApiErrorCode } from './errors.js';

import type { ApiError } from './errors.js';

export type ApiResult<T> = { ok: true; value: T } | { ok: false; error: ApiError };

export interface ExitStatus {
  code: number | null;
  signal: string | null;
  /** code, or 128 + signal number. */
  status: number;
}

export type CommandState =
  | 'waiting' // its dependsOn are not all running yet
  | 'starting' // spawned, waiting for READY=1
  | 'running'
  | 'backoff' // dead, restart timer armed
  | 'exited' // dead, not restarting (exit 0, not supervised, or stopped)
  | 'crash-loop' // crash-loop guard tripped: waits for an operator
  | 'gave-up' // restart_max reached
  | 'lost'; // was running when the daemon died; exit unknown

export interface CommandView {
  id: string;
  label: string;
  workspaceId: string;
  pid: number | null;
  alive: boolean;
  state: CommandState;
  exit: ExitStatus | null;
  restarts: number;
  /** Current backoff (the delay the next restart would wait). */
  backoffMs: number;
  startedAtWallMs: number;
  spec: CommandSpec;
}

export interface WorkspaceView {
  id: string;
  label: string;
  state: 'running' | 'stopping' | 'stopped';
  createdAtWallMs: number;
  uptimeMs: number;
  commandsAlive: number;
  commandsTotal: number;
  pipelines: number;
  warnings: string[];
  spec: WorkspaceSpec;
}

export interface QuotaView {
  workspaceId: string;
  limits: { memBytes: number; nproc: number; nofile: number };
  usage: { memBytes: number; nprocAlive: number };
  /** Contract wording: `memory: 12.00 MiB > 10.00 MiB limit`, `nproc: 3 alive > 2 limit`. */
  breaches: string[];
  enforce: { mem: string; nproc: string };
  source: 'cgroup' | 'proc';
}

// A persisted type (the snapshot keeps a workspace's recent samples): defined there.
export type { StatsSample } from '../snapshot/types.js';

import type { StatsSample } from '../snapshot/types.js';

export interface StatsView {
  workspaceId: string;
  commandsAlive: number;
  commandsTotal: number;
  rssBytes: number;
  rssPeakBytes: number;
  cpuUs: number;
  /** Between the last two samples; 100 = one core. */
  cpuPercent: number;
  cores: number;
  uptimeMs: number;
  source: 'cgroup' | 'proc' | 'persisted';
  /** Newest last, at most 64. */
  history: StatsSample[];
}

export interface EdgeVerdict {
  edgeIndex: number;
  ty: string;
  mime: string;
  /** Integer per-mille confidence (950 = 0.95). */
  confPermille: number;
}

export interface PipelineNodeView {
  label: string;
  commandId: string;
  pid: number | null;
  alive: boolean;
  exit: ExitStatus | null;
  /** The log rotation it runs with (its own over the pipeline's); absent = daemon's. */
  logs?: LogRotation;
}

export interface PipelineView {
  id: string;
  label: string;
  workspaceId: string;
  state: 'running' | 'backoff' | 'stopped' | 'done' | 'crash-loop' | 'gave-up';
  supervised: boolean;
  restarts: number;
  backoffMs: number;
  nodes: PipelineNodeView[];
  taps: { edgeIndex: number; socketPath: string }[];
  verdicts: EdgeVerdict[];
}

export interface SavedPipelineView {
  name: string;
  /** The TOML source as saved (templates unexpanded). */
  source: string;
  savedAtWallMs: number;
}

export interface HealthView {
  workspaces: number;
  commandsAlive: number;
  pipelines: number;
  flows: number;
}

export interface RestoreReport {
  /** 'fresh' = no snapshot; 'set-aside' = corrupt/newer file moved away. */
  outcome: 'fresh' | 'restored' | 'set-aside';
  fromVersion: number | null;
  workspaces: number;
  savedPipelines: number;
  relaunchedPipelines: number;
  message: string;
  /** Snapshot entries that did not decode and were left out (the rest was restored). */
  skipped?: { path: string; message: string }[];
  /** Where the file holding them was moved (the valid part is written back). */
  skippedAsidePath?: string;
}

export interface RunPipelineOptions {
  tap: boolean;
  /** Raw TOML source and vars, kept so a supervised pipeline can be relaunched on restore. */
  source?: string;
  vars?: Record<string, string>;
}

/** Workers (contract §9) are present when the ports include a queue store. */
export interface Supervisor extends Partial<WorkerSupervisor> {
  /** False (or absent) when worker calls can only answer `unavailable` (no queue store). */
  readonly workersAvailable?: boolean;
  /** Restore from the store, relaunch supervised pipelines, arm timers. Call once. */
  start(): RestoreReport;
  /** Write the snapshot now if dirty (SIGTERM path). */
  flush(): void;
  /** Stop every timer; processes are left to the caller (see `shutdown`). */
  close(): void;
  /**
   * The daemon stops: flush the snapshot (it stands as it is from now on: nothing
   * restarts, nothing is forgotten), SIGTERM every child, SIGKILL what is left after
   * `graceMs`. Resolves when no child is left. Idempotent: every call gets the first's.
   */
  shutdown(graceMs: number): Promise<ApiResult<{ reaped: number }>>;
  /** Lifecycle events as they are appended (for SSE and `events -f`). */
  onEvent(listener: (event: LifecycleEvent) => void): () => void;

  createWorkspace(spec: WorkspaceSpec): ApiResult<{ id: string; warnings: string[] }>;
  listWorkspaces(): WorkspaceView[];
  getWorkspace(ref: string): ApiResult<WorkspaceView>;
  stopWorkspace(ref: string, graceMs: number): Promise<ApiResult<{ reaped: number }>>;
  quota(ref: string): ApiResult<QuotaView>;
  stats(ref: string): ApiResult<StatsView>;

  runCommand(ref: string, spec: CommandSpec): ApiResult<CommandView>;
  /**
   * Several commands of one workspace at once (an apply's dependency level): all are
   * admitted or none is, under one durable write. The views, in order; a command whose
   * spawn failed is `{ok: false}` in its slot (the others run).
   */
  runCommands?(ref: string, specs: CommandSpec[]): ApiResult<ApiResult<CommandView>[]>;
  listCommands(ref: string): ApiResult<CommandView[]>;
  getCommand(ref: string, cmd: string): ApiResult<CommandView>;
  /**
   * Operator restart: clears crash-loop / gave-up and starts it again. A live command gets
   * SIGTERM (SIGKILL after 1 s) first; resolves with the view of the NEW incarnation.
   */
  restartCommand(ref: string, cmd: string): Promise<ApiResult<CommandView>>;
  /** Stop one command (TERM → grace → KILL); it stays listed, stopped, and is not restarted. */
  stopCommand(ref: string, cmd: string, graceMs: number): Promise<ApiResult<{ reaped: number }>>;
  /** Stop one command as stopCommand does, then forget it (a service leaves the intent). */
  removeCommand(ref: string, cmd: string, graceMs: number): Promise<ApiResult<true>>;

  runPipeline(spec: PipelineSpec, options: RunPipelineOptions): ApiResult<PipelineView>;
  listPipelines(): PipelineView[];
  /**
   * Pipelines are addressed by id or label (`ref`). A label several pipelines carry names
   * the one still live, if exactly one is; else the call fails with `conflict` listing ids.
   */
  getPipeline(ref: string): ApiResult<PipelineView>;
  stopPipeline(ref: string, graceMs: number): Promise<ApiResult<{ reaped: number }>>;
  /** Operator restart: nodes stopped (1 s grace), then a fresh start (tally cleared). */
  restartPipeline(ref: string): Promise<ApiResult<PipelineView>>;
  savePipeline(name: string, source: string): ApiResult<SavedPipelineView>;
  listSavedPipelines(): SavedPipelineView[];
  getSavedPipeline(name: string): ApiResult<SavedPipelineView>;
  dropSavedPipeline(name: string): ApiResult<true>;

  health(): HealthView;
}

export interface SupervisorOptions {
  /**
   * The quota tick: a live workspace with an enforced limit (quota_enforce log or kill) is
   * sampled this often. Also the freshness of on-demand samples. Default 1000.
   */
  sampleEveryMs?: number;
  /**
   * Stats-history cadence for every other live workspace (no tick at all when nothing is
   * alive); `stats` and `quota` also sample on demand. 0: no cadence, the history grows
   * from on-demand samples only (no wakeup for sleeping commands). Default: sampleEveryMs.
   */
  statsEveryMs?: number;
  /** Snapshot write delay after a change (coalescing). Default 200. */
  saveDelayMs?: number;
  /** Dead command records kept per workspace. Default 64. */
  deadCommandsMax?: number;
  cores?: number;
  /**
   * The decision functions (restart, crash-loop intensity, throttle, quota); each defaults
   * to core/policy. Injected, never flagged: the simulator's canary passes a broken one.
   */
  policy?: Partial<Policy>;
  /** Captured stderr of workers' tasks (a dead letter keeps its last attempt's tail). */
  taskLogs?: TaskLogs;
}

export type CreateSupervisor = (ports: Ports, options?: SupervisorOptions) => Supervisor;

// ── workers (contract §9) ────────────────────────────────────────────────────────────

export interface WorkerSupervisor {
  /** Declares a worker in workspace `ref`; durable before it returns ok. */
  createWorker(ref: string, spec: WorkerSpec): ApiResult<WorkerView>;
  /** Resolves once the task is committed to the queue (group commit per event-loop turn). */
  pushTask(name: string, payload: Uint8Array): Promise<ApiResult<{ id: string; seq: number }>>;
  listWorkers(): WorkerView[];
  getWorker(name: string): ApiResult<WorkerView>;
  listTasks(
    name: string,
    options: { dead: boolean; limit?: number },
  ): ApiResult<TaskRow[] | DeadLetter[]>;
  /** A dead letter back to the tail of the queue; its attempt count goes on from where it was. */
  retryTask(name: string, taskId: string): ApiResult<TaskRow>;
  /** Refused (conflict) while tasks remain, unless `force`: a running task is killed first. */
  dropWorker(name: string, options: { force: boolean }): Promise<ApiResult<true>>;
}

/** A worker's captured stderr: a dead letter keeps what its last attempt wrote. */
export interface TaskLogs {
  /** Bytes of stderr captured under `key` so far (never decreases). */
  stderrBytes(key: string): number;
  /** The last `bytes` bytes of stderr captured under `key`, as text. */
  stderrTail(key: string, bytes: number): string;
  /** `fire` once what `key`'s processes wrote is captured (pipes at EOF), if it can tell. */
  whenCaptured?(key: string, fire: () => void): void;
}
