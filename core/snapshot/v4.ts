/**
 * Snapshot v4: v3 + per-workspace stats history (the last 16 samples).
 * `{ version: 4, workspaces, savedPipelines, livePipelines,
 *    stats: [{ workspaceId, samples: [{ wallMs, rssBytes, cpuUs, cpuPermille }] }] }`.
 */

import { packAnchored, packOnce } from './canonical.js';
import { arr, entries, int, obj, str } from './check.js';
import type { StatsSample } from './types.js';
import { PERSISTED_SAMPLES_MAX, type PersistedStats, type Snapshot } from './types.js';

export interface SnapshotV4 extends Omit<Snapshot, 'version' | 'commands'> {
  version: 4;
}

import { packWorkspace } from './v1.js';
import { packSaved } from './v2.js';
import { packLive, type SnapshotV3, unpackV3 } from './v3.js';

function unpackSample(value: unknown, path: string): StatsSample {
  const o = obj(value, path);
  return {
    wallMs: int(o, 'wallMs', path),
    rssBytes: int(o, 'rssBytes', path),
    cpuUs: int(o, 'cpuUs', path),
    cpuPermille: int(o, 'cpuPermille', path),
  };
}

const packedSamples = new WeakMap<StatsSample, StatsSample>();

/** Once per sample object (a sample never changes once taken). */
function packSample(s: StatsSample): StatsSample {
  return packOnce(packedSamples, s, (x) => ({
    cpuPermille: x.cpuPermille,
    cpuUs: x.cpuUs,
    rssBytes: x.rssBytes,
    wallMs: x.wallMs,
  }));
}

export function unpackStats(value: unknown, path: string): PersistedStats {
  const o = obj(value, path);
  const samples = arr(o, 'samples', path, unpackSample);
  // Keep the newest: an older writer may have kept more.
  return {
    workspaceId: str(o, 'workspaceId', path, true),
    samples: samples.slice(-PERSISTED_SAMPLES_MAX),
  };
}

const packedStats = new WeakMap<StatsSample, { source: PersistedStats; packed: PersistedStats }>();

/** The same workspace and the same kept (newest) samples, compared without copying. */
function sameStats(a: PersistedStats, b: PersistedStats): boolean {
  const n = Math.min(a.samples.length, PERSISTED_SAMPLES_MAX);
  if (a.workspaceId !== b.workspaceId || Math.min(b.samples.length, PERSISTED_SAMPLES_MAX) !== n)
    return false;
  for (let i = 1; i <= n; i++) {
    if (a.samples[a.samples.length - i] !== b.samples[b.samples.length - i]) return false;
  }
  return true;
}

const kept = (samples: StatsSample[]): StatsSample[] => samples.slice(-PERSISTED_SAMPLES_MAX);

/**
 * Keyed by the newest sample; packed again when another sample list ends with it. Then the
 * entries of the older samples of the list are dropped: a workspace keeps the packing of its
 * latest list, not one (with its text) for every sample still in its history.
 */
export function packStats(s: PersistedStats): PersistedStats {
  const newest = s.samples[s.samples.length - 1];
  if (newest === undefined) return { samples: [], workspaceId: s.workspaceId };
  const last = packedStats.get(newest);
  if (last !== undefined && sameStats(last.source, s)) return last.packed;
  // Stryker disable all: equivalent mutants, memory only (no dropped entry is asked for again)
  for (let i = Math.max(0, s.samples.length - PERSISTED_SAMPLES_MAX); i < s.samples.length; i++)
    packedStats.delete(s.samples[i] as StatsSample);
  // Stryker restore all
  return packAnchored(packedStats, newest, s, sameStats, packStatsFields);
}

function packStatsFields(s: PersistedStats): PersistedStats {
  return { samples: kept(s.samples).map(packSample), workspaceId: s.workspaceId };
}

export function unpackV4(value: unknown): SnapshotV4 {
  const { workspaces, savedPipelines, livePipelines } = unpackV3(value);
  // Stryker disable next-line StringLiteral: readVersion checked the root as an object first
  const root = obj(value, '');
  const stats = entries(root, 'stats', '', unpackStats, (s) => s.workspaceId);
  return { version: 4, workspaces, savedPipelines, livePipelines, stats };
}

export function packV4(s: SnapshotV4): unknown {
  return {
    version: 4,
    workspaces: s.workspaces.map(packWorkspace),
    savedPipelines: s.savedPipelines.map(packSaved),
    livePipelines: s.livePipelines.map(packLive),
    stats: s.stats.map(packStats),
  };
}

export function upgradeV3(s: SnapshotV3): SnapshotV4 {
  return { ...s, version: 4, stats: [] };
}
