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
import type { LifecycleEvent } from '../../core/ports.js';

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

export interface LogSource {
  /** Captured bytes of `key` (a command id), the last `tailBytes` when given. */
  read(key: string, which: LogWhich, tailBytes?: number): Uint8Array;
  /** New bytes as they are captured; returns the unsubscribe function. */
  follow(key: string, which: LogWhich, listener: (chunk: Uint8Array) => void): () => void;
  /** Bytes captured so far (stdout + stderr), for `commands`. */
  bytes?(key: string): number;
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
  socketPath: string;
  restoreReport(): RestoreReport | null;
  /** Monotonic ms, for uptime. */
  nowMs(): number;
  startedAtMs: number;
}
