/**
 * Snapshot v2: v1 + saved pipelines (their TOML source, templates unexpanded).
 * `{ version: 2, workspaces, savedPipelines: [{ name, source, savedAtWallMs }] }`.
 */

import { entries, int, obj, str } from './check.js';
import type { PersistedSavedPipeline } from './types.js';
import { packWorkspace, type SnapshotV1, unpackV1 } from './v1.js';

export interface SnapshotV2 extends Omit<SnapshotV1, 'version'> {
  version: 2;
  savedPipelines: PersistedSavedPipeline[];
}

export function unpackSaved(value: unknown, path: string): PersistedSavedPipeline {
  const o = obj(value, path);
  return {
    name: str(o, 'name', path, true),
    source: str(o, 'source', path),
    savedAtWallMs: int(o, 'savedAtWallMs', path),
  };
}

export function packSaved(p: PersistedSavedPipeline): PersistedSavedPipeline {
  return { name: p.name, savedAtWallMs: p.savedAtWallMs, source: p.source };
}

export function unpackV2(value: unknown): SnapshotV2 {
  const { workspaces } = unpackV1(value);
  // Stryker disable next-line StringLiteral: readVersion checked the root as an object first
  const root = obj(value, '');
  const savedPipelines = entries(root, 'savedPipelines', '', unpackSaved, (p) => p.name);
  return { version: 2, workspaces, savedPipelines };
}

export function packV2(s: SnapshotV2): unknown {
  return {
    version: 2,
    workspaces: s.workspaces.map(packWorkspace),
    savedPipelines: s.savedPipelines.map(packSaved),
  };
}

export function upgradeV1(s: SnapshotV1): SnapshotV2 {
  return { version: 2, workspaces: s.workspaces, savedPipelines: [] };
}
