/**
 * Snapshot v1: workspaces only. Layout on disk:
 * `{ version: 1, workspaces: [{ id, spec, createdAtWallMs, warnings }] }`.
 */

import { arr, entries, int, obj, str, strItem } from './check.js';
import { checkWorkspaceSpec, packWorkspaceSpec } from './specs.js';
import type { PersistedWorkspace } from './types.js';

export interface SnapshotV1 {
  version: 1;
  workspaces: PersistedWorkspace[];
}

export function unpackWorkspace(value: unknown, path: string): PersistedWorkspace {
  const o = obj(value, path);
  return {
    id: str(o, 'id', path, true),
    spec: checkWorkspaceSpec(o.spec, `${path}.spec`),
    createdAtWallMs: int(o, 'createdAtWallMs', path),
    warnings: arr(o, 'warnings', path, strItem),
  };
}

export function packWorkspace(w: PersistedWorkspace): PersistedWorkspace {
  return {
    id: w.id,
    spec: packWorkspaceSpec(w.spec),
    createdAtWallMs: w.createdAtWallMs,
    warnings: [...w.warnings],
  };
}

export function unpackV1(value: unknown): SnapshotV1 {
  const o = obj(value, '');
  const workspaces = entries(o, 'workspaces', '', unpackWorkspace, (w) => w.id);
  return { version: 1, workspaces };
}

export function packV1(s: SnapshotV1): unknown {
  return { version: 1, workspaces: s.workspaces.map(packWorkspace) };
}
