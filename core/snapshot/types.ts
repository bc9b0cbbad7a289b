/** The persisted state: declared intent the daemon restores after a restart (contract §5). */

/** One sample of a workspace's usage (also the engine's `StatsView.history`). */
export interface StatsSample {
  wallMs: number;
  rssBytes: number;
  cpuUs: number;
  /** Integer per-mille of one core between this sample and the previous (1000 = 100 %). */
  cpuPermille: number;
}

import type { CommandSpec, PipelineSpec, WorkspaceSpec } from '../manifest/types.js';

export const SNAPSHOT_VERSION = 5;

/** Samples of stats history kept per workspace across a restart. */
export const PERSISTED_SAMPLES_MAX = 16;

export interface PersistedWorkspace {
  id: string;
  spec: WorkspaceSpec;
  createdAtWallMs: number;
  warnings: string[];
}

export interface PersistedSavedPipeline {
  name: string;
  source: string;
  savedAtWallMs: number;
}

export interface PersistedLivePipeline {
  id: string;
  spec: PipelineSpec;
  source: string;
  vars: Record<string, string>;
  tap: boolean;
  restarts: number;
  backoffMs: number;
}

/** At most `PERSISTED_SAMPLES_MAX` samples, newest last. */
export interface PersistedStats {
  workspaceId: string;
  samples: StatsSample[];
}

/**
 * A command the daemon answered for (v5): a service (restart ≠ "no", not stopped for
 * good) is relaunched on restore with the same id and label; a one-shot that was running
 * comes back as `lost` (its exit is unknown), never silently dropped.
 */
export interface PersistedCommand {
  id: string;
  workspaceId: string;
  /** The label is `spec.label` (a generated one included). */
  spec: CommandSpec;
  restarts: number;
  backoffMs: number;
}

export interface Snapshot {
  version: 5;
  workspaces: PersistedWorkspace[];
  savedPipelines: PersistedSavedPipeline[];
  livePipelines: PersistedLivePipeline[];
  stats: PersistedStats[];
  commands: PersistedCommand[];
}

import type { SkippedEntry } from './check.js';

export type DecodeResult =
  /** `skipped`: malformed entries left out; the rest of the snapshot is restored. */
  | { ok: true; snapshot: Snapshot; fromVersion: number; skipped: SkippedEntry[] }
  | { ok: false; reason: 'corrupt' | 'newer'; message: string };

export function emptySnapshot(): Snapshot {
  return {
    version: 5,
    workspaces: [],
    savedPipelines: [],
    livePipelines: [],
    stats: [],
    commands: [],
  };
}
