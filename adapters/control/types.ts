/**
 * What the control server needs from the daemon besides the Supervisor: spec parsing
 * (core/manifest), captured logs and flows (the linux adapter), caps and history. Each is a
 * small function so tests can hand in fakes and the daemon can hand in the real ones.
 */

import type { RestoreReport, Supervisor } from '../../core/engine/api.js';
import type {
  CommandSpec,
  PipelineSpec,
  SpecIssue,
  SpecResult,
  WorkspaceSpec,
} from '../../core/manifest/types.js';
import type { LifecycleEvent, PortError, ProcStats } from '../../core/ports.js';

export type LogWhich = 'stdout' | 'stderr' | 'both';

export interface SpecParsers {
  /** Workspace TOML text → spec. */
  workspaceToml(text: string): SpecResult<WorkspaceSpec>;
  /** Workspace as a JSON object in the TOML's snake_case shape → spec. */
  workspaceObject(raw: unknown): SpecResult<WorkspaceSpec>;
  /** Pipeline TOML text with `${VAR}` templating → spec. */
  pipelineToml(text: string, vars: Record<string, string>): SpecResult<PipelineSpec>;
  /** `shipote run` request body (camelCase CommandSpec fields; defaults filled in). */
  command(raw: unknown): SpecResult<CommandSpec>;
  /** One line per issue. */
  formatIssues(issues: SpecIssue[]): string;
}

export interface LogQuery {
  /** The last N lines (per stream; of the merge for one command's two streams). */
  lines?: number;
  /** The last N bytes. */
  tailBytes?: number;
  sinceMs?: number;
  untilMs?: number;
  /** An RFC 3339 time before each line. */
  timestamps?: boolean;
}

/** Output of one or more logs, read from the disk store where it left off. */
export interface LogReader {
  /** The next chunk, or null when caught up (more may come later). */
  next(): Uint8Array | null;
  /** An `until` bound was reached: nothing more will come. */
  done(): boolean;
  /** More logs merged from their start on (a followed workspace's new commands). */
  add?(keys: LogKey[]): void;
}

export interface LogKey {
  key: string;
  /** Printed before each line (merged logs of a workspace). */
  label?: string;
}

/** A log on disk the supervisor may no longer know (see adapters/logstore/meta.ts). */
export interface KnownLog {
  key: string;
  ws: string;
  wsLabel: string;
  label: string;
  startedWallMs: number;
}

export interface LogSource {
  open(keys: LogKey[], which: LogWhich, query: LogQuery): LogReader;
  /** A nudge when `key`'s logs grew or a stream ended; returns the unsubscribe function. */
  follow(key: string, listener: () => void): () => void;
  /** Bytes captured so far (stdout + stderr), for `commands`. */
  bytes?(key: string): number;
  /** Logs on disk with their owners, for commands the supervisor has forgotten. */
  known?(): KnownLog[];
}

export interface FlowView {
  socketPath: string;
  /** The pipeline key the flow belongs to. */
  key: string;
  edgeIndex: number;
  bytesTotal: number;
  bytesPerSec: number;
  readers?: number;
}

export interface DoctorFinding {
  what: string;
  /** The command that fixes it. */
  fix: string;
  wallMs: number;
}

export interface DoctorView {
  daemon: { reachable: true; pid: number; socket: string; uptimeMs: number };
  caps: unknown;
  snapshot: { path: string; restore: RestoreReport | null; ok: boolean; message: string };
  findings: DoctorFinding[];
}

export interface ControlDeps {
  supervisor: Supervisor;
  specs: SpecParsers;
  logs: LogSource;
  flows(): FlowView[];
  caps(): unknown;
  /** Events from the event log file, newest last. */
  history(limit?: number): LifecycleEvent[];
  statePath: string;
  /** Where the restart counters persist (next to the snapshot); in memory when absent. */
  countersPath?: string;
  socketPath: string;
  restoreReport(): RestoreReport | null;
  /** Wall-clock ms (`--since 10m`). */
  wallMs?(): number;
  /** Monotonic ms, for uptime. */
  nowMs(): number;
  /** RSS and CPU of the process trees under `pids` (GET /v1/ps); absent in fakes. */
  sample?(pids: number[]): ProcStats;
  /** The daemon's own process metrics (/metrics); absent in fakes. */
  processStats?(): ProcessStats;
  startedAtMs: number;
  /**
   * Resolves (null) once every snapshot write so far is durable, or with the failure; a
   * reply to a change waits for it (adapters/store/group-commit.ts). Absent: writes are
   * durable when they return.
   */
  durable?(): Promise<PortError | null>;
  /**
   * Delivers the child exits and log ends already waiting. The server calls it before each
   * request's work and before each reply, so a burst of requests does not hold back the
   * supervisor's answer to its children (a worker's next task, a restart).
   */
  deliverReady?(): void;
}

/** The daemon's own process, with the names every Prometheus client library uses. */
export interface ProcessStats {
  residentMemoryBytes: number;
  virtualMemoryBytes: number;
  cpuSeconds: number;
  openFds: number;
  maxFds: number;
  startTimeSeconds: number;
}
