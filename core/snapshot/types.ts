/** The persisted state: declared intent the daemon restores after a restart (contract §5). */

import type { StatsSample } from '../engine/api.js';
import type { PipelineSpec, WorkspaceSpec } from '../manifest/types.js';

export const SNAPSHOT_VERSION = 4;

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

export interface Snapshot {
  version: 4;
  workspaces: PersistedWorkspace[];
  savedPipelines: PersistedSavedPipeline[];
  livePipelines: PersistedLivePipeline[];
  stats: PersistedStats[];
}

import type { SkippedEntry } from './check.js';

export type DecodeResult =
  /** `skipped`: malformed entries left out; the rest of the snapshot is restored. */
  | { ok: true; snapshot: Snapshot; fromVersion: number; skipped: SkippedEntry[] }
  | { ok: false; reason: 'corrupt' | 'newer'; message: string };

export function emptySnapshot(): Snapshot {
  return { version: 4, workspaces: [], savedPipelines: [], livePipelines: [], stats: [] };
}
