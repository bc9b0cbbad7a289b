/**
 * Snapshot v4: v3 + per-workspace stats history (the last 16 samples).
 * `{ version: 4, workspaces, savedPipelines, livePipelines,
 *    stats: [{ workspaceId, samples: [{ wallMs, rssBytes, cpuUs, cpuPermille }] }] }`.
 */

import type { StatsSample } from '../engine/api.js';
import { packOnce } from './canonical.js';
import { arr, entries, int, obj, str } from './check.js';
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
    wallMs: x.wallMs,
    rssBytes: x.rssBytes,
    cpuUs: x.cpuUs,
    cpuPermille: x.cpuPermille,
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

export function packStats(s: PersistedStats): PersistedStats {
  return {
    workspaceId: s.workspaceId,
    samples: s.samples.slice(-PERSISTED_SAMPLES_MAX).map(packSample),
  };
}

export function unpackV4(value: unknown): SnapshotV4 {
  const { workspaces, savedPipelines, livePipelines } = unpackV3(value);
  const stats = entries(obj(value, ''), 'stats', '', unpackStats, (s) => s.workspaceId);
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
