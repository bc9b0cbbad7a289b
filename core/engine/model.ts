/**
 * The engine's state, events and effects: plain data. Records are never mutated; a step
 * replaces the ones it changes (see draft.ts), so the state before a step stays valid and
 * a failed write-through is rolled back by keeping it.
 */

import type { CommandSpec, PipelineSpec, WorkspaceSpec } from '../manifest/types.js';
import type { Tally } from '../policy/index.js';
import type {
  CgroupCaps,
  CgroupLimits,
  Envelope,
  GroupRequest,
  PortError,
  ProcRequest,
  SignalName,
  TapInfo,
} from '../ports.js';
import type { PersistedCommand, PersistedLivePipeline, Snapshot } from '../snapshot/index.js';
import type { ApiError, EdgeVerdict, ExitStatus, StatsSample } from './api.js';

export const STATS_HISTORY_MAX = 64;

export interface StopState {
  graceMs: number;
  reaped: number;
  /** SIGKILL already sent (grace 0 or grace expired). */
  killed: boolean;
}

export interface ShutdownState extends StopState {
  /** The callers waiting on the shutdown were answered. */
  settled: boolean;
}

export interface Usage {
  source: 'cgroup' | 'proc';
  memBytes: number;
  nprocAlive: number;
  cpuUs: number;
  atMs: number;
}

export type WorkspacePhase = { kind: 'running' } | { kind: 'stopping'; stop: StopState };

/** Why a command is done: the `done` state's reason. */
export type CommandDoneReason = 'exit-0' | 'unsupervised' | 'stopped' | 'gave-up' | 'lost';

/**
 * A command's one state. `waiting`: its dependsOn are not all running yet. `spawning`
 * lasts from the spawn effect to its result (within one shell call). `starting`: spawned,
 * waiting for READY=1 (a ready timer armed when readyTimeoutMs > 0). `stopping.after` says
 * what follows the death: nothing (`done`), a fresh start (`respawn`, an operator
 * restart), or the record goes (`remove`).
 */
export type CommandPhase =
  | { kind: 'waiting' }
  /** `origin`: a caller's first start (a failed spawn is the caller's error), or later. */
  | { kind: 'spawning'; origin: 'caller' | 'later' }
  | { kind: 'starting'; pid: number }
  | { kind: 'running'; pid: number }
  | { kind: 'stopping'; pid: number; after: 'done' | 'respawn' | 'remove' }
  | { kind: 'backoff'; atMs: number; delayMs: number }
  | { kind: 'crash-loop' }
  | { kind: 'done'; reason: CommandDoneReason };

export type CommandPhaseKind = CommandPhase['kind'];

export type PipelineDoneReason = 'exit-0' | 'unsupervised' | 'stopped' | 'gave-up';

/**
 * A pipeline's one state. `origin` on `spawning`: a caller's first start (a failed spawn
 * is the caller's error and leaves nothing behind) or any later one (restore, restart).
 */
export type PipelinePhase =
  | { kind: 'spawning'; origin: 'caller' | 'later' }
  | { kind: 'running' }
  | { kind: 'stopping'; stop: StopState; after: 'done' | 'respawn' }
  | { kind: 'backoff'; atMs: number; delayMs: number }
  | { kind: 'crash-loop' }
  | { kind: 'done'; reason: PipelineDoneReason };

export type PipelinePhaseKind = PipelinePhase['kind'];

export interface WorkspaceRec {
  id: string;
  spec: WorkspaceSpec;
  envelope: Envelope;
  createdAtWallMs: number;
  warnings: string[];
  phase: WorkspacePhase;
  /** Command ids in creation order (dead ones evicted oldest first). */
  commandIds: string[];
  usage: Usage | null;
  history: StatsSample[];
  historySource: 'cgroup' | 'proc' | 'persisted';
  rssPeakBytes: number;
  oomKills: number;
  /** Breached resources at the last tick, `memory,nproc`: breach events fire on change. */
  breachKey: string;
  /** The last command SIGKILLed outside a stop: named by an `oom` event. */
  lastKilledCmd: string;
}

export interface CommandRec {
  id: string;
  label: string;
  wsId: string;
  spec: CommandSpec;
  phase: CommandPhase;
  exit: ExitStatus | null;
  /** Total restarts over the command's life (the view's count). */
  restarts: number;
  tally: Tally;
  deathsMs: number[];
  startedAtMs: number;
  startedAtWallMs: number;
  lastStartMs: number | null;
  /** Successful spawns so far: a failed first spawn leaves no record behind. */
  spawns: number;
}

export interface NodeRec {
  label: string;
  commandId: string;
  pid: number | null;
  alive: boolean;
  exit: ExitStatus | null;
}

export interface PipelineRec {
  id: string;
  label: string;
  wsId: string;
  spec: PipelineSpec;
  source: string;
  vars: Record<string, string>;
  tap: boolean;
  phase: PipelinePhase;
  nodes: NodeRec[];
  restarts: number;
  tally: Tally;
  deathsMs: number[];
  startedAtMs: number;
  lastStartMs: number | null;
  taps: TapInfo[];
  verdicts: EdgeVerdict[];
  /** Finished pipelines are kept (bounded) for views: order of finishing. */
  finishedSeq: number;
  /** Successful group spawns so far. */
  spawns: number;
}

export interface SavedRec {
  name: string;
  source: string;
  savedAtWallMs: number;
}

export type PidOwner =
  | { kind: 'command'; id: string }
  | { kind: 'node'; id: string; index: number };

export interface EngineState {
  caps: CgroupCaps | null;
  workspaces: ReadonlyMap<string, WorkspaceRec>;
  commands: ReadonlyMap<string, CommandRec>;
  pipelines: ReadonlyMap<string, PipelineRec>;
  saved: ReadonlyMap<string, SavedRec>;
  pids: ReadonlyMap<number, PidOwner>;
  /** Timer keys (encoded, see timers.ts) currently armed, to their deadline. */
  timers: ReadonlyMap<string, number>;
  /** Set by `daemon-shutdown`: nothing restarts, the processes are ended. */
  shutdown: ShutdownState | null;
  dirty: boolean;
  finishedSeq: number;
  options: EngineOptions;
}

export interface EngineOptions {
  /** The quota tick: workspaces with an enforced limit (log/kill) are sampled this often. */
  sampleEveryMs: number;
  /** The stats-history cadence for every other live workspace (0: on demand only). */
  statsEveryMs?: number;
  saveDelayMs: number;
  deadCommandsMax: number;
  cores: number;
}

// ── Events ─────────────────────────────────────────────────────────────────────────

export interface SampleResult {
  source: 'cgroup' | 'proc';
  alive: number;
  memBytes: number;
  memPeakBytes: number;
  cpuUs: number;
  oomKills: number;
}

export type EngineEvent =
  | { type: 'daemon-started'; caps: CgroupCaps }
  | {
      type: 'snapshot-restored';
      snapshot: Snapshot;
      wallMs: number;
    }
  /** After restore (once workspaces have their cgroups): relaunch one live pipeline. */
  | { type: 'pipeline-relaunch'; pipeline: PersistedLivePipeline; nodeIds: string[] }
  /** After restore: services relaunched, one-shots that were running reported lost. */
  | { type: 'commands-restored'; commands: PersistedCommand[] }
  | { type: 'workspace-create'; id: string; spec: WorkspaceSpec; wallMs: number }
  | { type: 'workspace-stop'; ref: string; graceMs: number; reason: 'operator' | 'ttl' | 'quota' }
  | { type: 'cgroup-created'; wsId: string; handle: string }
  | { type: 'cgroup-failed'; wsId: string; error: PortError }
  | { type: 'command-run'; ref: string; id: string; spec: CommandSpec }
  /** Several commands of one workspace, all or none, under one write-through (apply). */
  | { type: 'commands-run'; ref: string; runs: { id: string; spec: CommandSpec }[] }
  | { type: 'command-restart'; ref: string; cmd: string }
  | { type: 'command-stop'; ref: string; cmd: string; graceMs: number; remove: boolean }
  | { type: 'spawned'; cmdId: string; pid: number; wallMs: number }
  | { type: 'spawn-failed'; cmdId: string; error: PortError }
  | { type: 'group-spawned'; pipelineId: string; pids: number[]; taps: TapInfo[] }
  | { type: 'group-spawn-failed'; pipelineId: string; error: PortError }
  | { type: 'process-exited'; pid: number; code: number | null; signal: string | null }
  | { type: 'timer-fired'; key: string }
  /** A cgroup kill/remove answered Busy (attempt 1 = the first try). */
  | { type: 'cgroup-busy'; op: 'kill' | 'remove'; handle: string; attempt: number }
  /** The daemon stops: TERM every child, KILL after the grace; settles `daemon`. */
  | { type: 'daemon-shutdown'; graceMs: number }
  /** `atMs`: when the sample was asked for (the effect's), the time the usage is of. */
  | { type: 'stats-sampled'; wsId: string; sample: SampleResult; wallMs: number; atMs: number }
  /** `stats` or `quota` asked: sample now unless the last sample is recent enough. */
  | { type: 'stats-requested'; wsId: string }
  | { type: 'notify'; pid: number; message: string }
  | { type: 'pipeline-run'; id: string; nodeIds: string[]; spec: PipelineSpec; run: PipelineRun }
  | { type: 'pipeline-stop'; id: string; graceMs: number }
  | { type: 'pipeline-restart'; id: string }
  | { type: 'pipeline-save'; name: string; source: string; wallMs: number }
  | { type: 'pipeline-drop'; name: string }
  | { type: 'edge-sniffed'; key: string; edgeIndex: number; verdict: Verdict }
  | { type: 'snapshot-write-failed'; message: string }
  | { type: 'flush' }
  | RaisedEvent;

/**
 * Events one entity raises for another inside a step (drained by `step` in order, after
 * the handler that raised them): entity modules never call each other.
 */
export type RaisedEvent =
  /** The workspace is stopping: its commands and pipelines stop with it. */
  | { type: 'command-quiesce'; cmdId: string }
  | { type: 'pipeline-quiesce'; id: string }
  /** After its entities were quiesced: signal, wait or finish the workspace stop. */
  | { type: 'workspace-stop-proceed'; wsId: string; graceMs: number }
  /** One of a workspace's processes was reaped (counts toward a stop in progress). */
  | { type: 'workspace-reaped'; wsId: string }
  /** Dead command records beyond the bound go, oldest first. */
  | { type: 'commands-evict'; wsId: string }
  /** A command of the workspace became ready (or went): waiting ones look again. */
  | { type: 'commands-deps'; wsId: string };

export interface PipelineRun {
  source: string;
  vars: Record<string, string>;
  tap: boolean;
  restarts: number;
  backoffMs: number;
}

export interface Verdict {
  ty: string;
  mime: string;
  confPermille: number;
}

// ── Effects ────────────────────────────────────────────────────────────────────────

export type Effect =
  | { type: 'spawn'; cmdId: string; key: string; req: ProcRequest }
  | { type: 'spawn-group'; pipelineId: string; key: string; req: GroupRequest }
  | { type: 'signal'; pid: number; signal: SignalName }
  | { type: 'arm-timer'; key: string; atMs: number }
  | { type: 'cancel-timer'; key: string }
  | { type: 'cgroup-create'; wsId: string; relPath: string; limits: CgroupLimits }
  /** `attempt`: 1 for the first try; a Busy answer comes back as `cgroup-busy`. */
  | { type: 'cgroup-kill'; handle: string; attempt: number }
  | { type: 'cgroup-remove'; handle: string; attempt: number }
  | { type: 'sample'; wsId: string; pids: number[]; cgroup: string | null; atMs: number }
  /** sync: write-through, a failure aborts the step (state rolled back, call fails). */
  | { type: 'write-snapshot'; sync: boolean }
  | { type: 'append-event'; ev: string; fields: Record<string, string | number | boolean> }
  | { type: 'release'; key: string }
  /** A stop (or an operator restart) finished: resolve the callers waiting on it. */
  | { type: 'settle'; kind: SettleKind; id: string; reaped: number };

export type SettleKind =
  | 'workspace'
  | 'pipeline'
  | 'pipeline-restart'
  | 'command'
  | 'command-restart'
  | 'daemon';

export interface StepResult {
  state: EngineState;
  effects: Effect[];
  /** The event was refused (validation, not found, conflict): no state change. */
  error: ApiError | null;
}
