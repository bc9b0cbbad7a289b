/**
 * Validated, normalised specs: what the TOML of contract §1 and §3 becomes after
 * `parseWorkspaceToml` / `parsePipelineToml`. Every duration is integer milliseconds
 * and every size integer bytes; 0 means "no limit" / "none" unless said otherwise.
 */

export type EnforceAction = 'none' | 'log' | 'kill';

/** What happens to commands when the workspace stops: `reap` signals them (TERM, grace, KILL). */
export type OnExit = 'reap' | 'wait';

export interface Rlimits {
  /** Accounted against RSS (proc) or the cgroup memory limit. 0 = none. */
  memBytes: number;
  /** Processes alive in the workspace. 0 = none. */
  nproc: number;
  /** RLIMIT_NOFILE. 0 = none. */
  nofile: number;
}

export interface Namespaces {
  user: boolean;
  pid: boolean;
  mount: boolean;
  net: boolean;
  uts: boolean;
  ipc: boolean;
  cgroup: boolean;
}

export interface WorkspaceSpec {
  label: string;
  onExit: OnExit;
  /** Auto-stop after this long; 0 = never. */
  ttlMs: number;
  rlimits: Rlimits;
  namespaces: Namespaces;
  /** Relative to the daemon's own cgroup; '' = none. Never absolute, never `..`. */
  cgroupPath: string;
  quotaEnforce: { mem: EnforceAction; nproc: EnforceAction };
}

export interface ProcPayload {
  exec: string;
  argv: string[];
  /** `KEY=value` strings. */
  envp: string[];
}

/**
 * Size rotation of the captured stdout/stderr of a command or a pipeline node (each stream
 * on its own). 0 in a field = the daemon's default (`SHIPOTE_LOG_MAX_BYTES`,
 * `SHIPOTE_LOG_KEEP`); ranges in limits.ts (LOG_ROTATION_RANGES).
 */
export interface LogRotation {
  /** A file is rotated when it reaches this size. */
  maxBytes: number;
  /** Files per stream, the one being written included. */
  keep: number;
}

/** A one-shot or supervised command (`shipote run`). */
/** When a command is started again: never, after a failure, or after any exit. */
export type RestartMode = 'no' | 'on-failure' | 'always';

export interface CommandSpec extends ProcPayload {
  /** '' = generated `run-XXXXXX`. */
  label: string;
  cwd: string;
  restart: RestartMode;
  /** The older request field: always `restart !== 'no'` (kept for clients that read it). */
  restartOnFailure: boolean;
  /** The first backoff (default 200), doubled per consecutive failure up to backoffMsMax. */
  backoffMs: number;
  /** Default 30000. */
  backoffMsMax: number;
  /** More than this many deaths within crashLoopWindowMs → crash-loop (default 3; 0 = off). */
  crashLoopMax: number;
  /** Default 300000. */
  crashLoopWindowMs: number;
  /** `notify`: started only after READY=1 on NOTIFY_SOCKET. */
  ready: 'exec' | 'notify';
  /** No READY=1 within this → killed, handled as a failure. 0 = wait forever. */
  readyTimeoutMs: number;
  /** 0 = no watchdog. Armed from READY=1 (from the spawn with ready = "exec"). */
  watchdogMs: number;
  /** Labels of commands of the same workspace that must be running (ready) first. */
  dependsOn: string[];
  /** User and group to run as ('' = the daemon's); the adapter resolves the names. */
  user: string;
  group: string;
  /** Log rotation; absent = the daemon's defaults (never present with both fields 0). */
  logs?: LogRotation;
}

export type OutputName = 'stdout' | 'stderr';

export interface PipelineNode {
  label: string;
  payload: ProcPayload;
  /** This node's log rotation, field by field over the pipeline's; absent = the pipeline's. */
  logs?: LogRotation;
}

export interface PipelineEdge {
  from: number;
  fromOutput: OutputName;
  to: number;
  toInput: 'stdin';
}

export interface Discern {
  sampleBytes: number;
  enrichProducer: boolean;
  /** Default 32. */
  replayChunks: number;
  /** 0 = chunk cap only. */
  replayBytes: number;
  /** Token bucket with a 1 s burst; 0 = unlimited. */
  maxBytesPerSec: number;
}

export interface RestartPolicy {
  restartOnFailure: boolean;
  /** Default 200. */
  backoffMsInitial: number;
  /** Default 30000. */
  backoffMsMax: number;
  /** 0 = no limit. */
  restartMax: number;
  /** A run that stays up at least this long clears the backoff (default in core/policy). */
  resetAfterMs: number;
}

export interface CrashLoopPolicy {
  /** Default 3: more than this many deaths within the window → crash-loop. */
  deathsMax: number;
  /** Default 300000. */
  windowMs: number;
}

export interface PipelineSpec {
  label: string;
  /** Id or label of an existing workspace. */
  workspace: string;
  discern: Discern;
  nodes: PipelineNode[];
  edges: PipelineEdge[];
  restart: RestartPolicy;
  crashLoop: CrashLoopPolicy;
  /** Log rotation of every node (a node's own wins); absent = the daemon's defaults. */
  logs?: LogRotation;
}

/** A validation failure: `path` is the field path (`nodes[1].payload.Native.exec`). */
export interface SpecIssue {
  path: string;
  message: string;
  /** 1-based line in the TOML source, when it can be found. */
  line?: number;
}

export type SpecResult<T> = { ok: true; value: T } | { ok: false; issues: SpecIssue[] };
