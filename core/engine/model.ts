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
import type { PersistedLivePipeline, Snapshot } from '../snapshot/index.js';
import type {
  ApiError,
  CommandState,
  EdgeVerdict,
  ExitStatus,
  PipelineView,
  StatsSample,
} from './api.js';

export const STATS_HISTORY_MAX = 64;
export const STATS_PERSISTED_MAX = 16;
export const STOP_GRACE_MS_DEFAULT = 1000;
export const FINISHED_PIPELINES_MAX = 64;

export interface StopState {
  graceMs: number;
  reaped: number;
  /** SIGKILL already sent (grace 0 or grace expired). */
  killed: boolean;
}

export interface Usage {
  source: 'cgroup' | 'proc';
  memBytes: number;
  nprocAlive: number;
  cpuUs: number;
  atMs: number;
}

export interface WorkspaceRec {
  id: string;
  spec: WorkspaceSpec;
  envelope: Envelope;
  createdAtWallMs: number;
  warnings: string[];
  state: 'running' | 'stopping';
  stop: StopState | null;
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
  pid: number | null;
  state: CommandState;
  exit: ExitStatus | null;
  /** Total restarts over the command's life (the view's count). */
  restarts: number;
  tally: Tally;
  deathsMs: number[];
  startedAtMs: number;
  startedAtWallMs: number;
  lastStartMs: number | null;
  /** Death during a stop (workspace stop or operator restart) is not a failure. */
  stopping: boolean;
  /** Operator restart requested while alive: respawn at exit. */
  respawn: boolean;
  /** Successful spawns so far: a failed first spawn leaves no record behind. */
  spawns: number;
  /** The delay the pending restart waits (shown while in backoff). */
  delayMs: number;
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
  state: PipelineView['state'];
  nodes: NodeRec[];
  restarts: number;
  tally: Tally;
  deathsMs: number[];
  startedAtMs: number;
  lastStartMs: number | null;
  taps: TapInfo[];
  verdicts: EdgeVerdict[];
  stop: StopState | null;
  /** Finished pipelines are kept (bounded) for views: order of finishing. */
  finishedSeq: number;
  /** Successful group spawns so far. */
  spawns: number;
  /** Started by a caller who gets a failed first spawn as an error (not a restore). */
  fresh: boolean;
  /** The delay the pending relaunch waits (shown while in backoff). */
  delayMs: number;
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
  /** Timer keys currently armed (so handlers arm once and cancel what they armed). */
  timers: ReadonlyMap<string, number>;
  dirty: boolean;
  finishedSeq: number;
  options: EngineOptions;
}

export interface EngineOptions {
  /** The quota tick: workspaces with an enforced limit (log/kill) are sampled this often. */
  sampleEveryMs: number;
  /** The stats-history cadence for every other live workspace; default sampleEveryMs. */
  statsEveryMs?: number;
  saveDelayMs: number;
  deadCommandsMax: number;
  cores: number;
}

export type TimerKind = 'restart' | 'stop-grace' | 'ttl' | 'sample' | 'save' | 'watchdog';

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
  | { type: 'workspace-create'; id: string; spec: WorkspaceSpec; wallMs: number }
  | { type: 'workspace-stop'; ref: string; graceMs: number; reason: 'operator' | 'ttl' | 'quota' }
  | { type: 'cgroup-created'; wsId: string; handle: string }
  | { type: 'cgroup-failed'; wsId: string; error: PortError }
  | { type: 'command-run'; ref: string; id: string; spec: CommandSpec }
  | { type: 'command-restart'; ref: string; cmd: string }
  | { type: 'spawned'; cmdId: string; pid: number; wallMs: number }
  | { type: 'spawn-failed'; cmdId: string; error: PortError }
  | { type: 'group-spawned'; pipelineId: string; pids: number[]; taps: TapInfo[] }
  | { type: 'group-spawn-failed'; pipelineId: string; error: PortError }
  | { type: 'process-exited'; pid: number; code: number | null; signal: string | null }
  | { type: 'timer-fired'; key: string }
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
  | { type: 'snapshot-written' }
  | { type: 'snapshot-write-failed'; message: string }
  | { type: 'flush' };

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
  | { type: 'cgroup-kill'; handle: string }
  | { type: 'cgroup-remove'; handle: string }
  | { type: 'sample'; wsId: string; pids: number[]; cgroup: string | null; atMs: number }
  /** sync: write-through, a failure aborts the step (state rolled back, call fails). */
  | { type: 'write-snapshot'; sync: boolean }
  | { type: 'append-event'; ev: string; fields: Record<string, string | number | boolean> }
  | { type: 'release'; key: string }
  /** A stop finished: resolve the callers waiting on it. */
  | { type: 'settle'; kind: 'workspace' | 'pipeline'; id: string; reaped: number };

export interface StepResult {
  state: EngineState;
  effects: Effect[];
  /** The event was refused (validation, not found, conflict): no state change. */
  error: ApiError | null;
}
