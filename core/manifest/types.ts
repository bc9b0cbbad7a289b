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

/** A one-shot or supervised command (`shipote run`). */
export interface CommandSpec extends ProcPayload {
  /** '' = generated `run-XXXXXX`. */
  label: string;
  cwd: string;
  restartOnFailure: boolean;
  /** `notify`: started only after READY=1 on NOTIFY_SOCKET. */
  ready: 'exec' | 'notify';
  /** 0 = no watchdog. */
  watchdogMs: number;
}

export type OutputName = 'stdout' | 'stderr';

export interface PipelineNode {
  label: string;
  payload: ProcPayload;
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
}

/** A validation failure: `path` is the field path (`nodes[1].payload.Native.exec`). */
export interface SpecIssue {
  path: string;
  message: string;
  /** 1-based line in the TOML source, when it can be found. */
  line?: number;
}

export type SpecResult<T> = { ok: true; value: T } | { ok: false; issues: SpecIssue[] };
