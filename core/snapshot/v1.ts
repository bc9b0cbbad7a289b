/**
 * Snapshot v1: workspaces only. Layout on disk:
 * `{ version: 1, workspaces: [{ id, spec, createdAtWallMs, warnings }] }`.
 */

import type { WorkspaceSpec } from '../manifest/types.js';
import { packAnchored, sameItems } from './canonical.js';
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

const packedWorkspaces = new WeakMap<
  WorkspaceSpec,
  { source: PersistedWorkspace; packed: PersistedWorkspace }
>();

const sameWorkspace = (a: PersistedWorkspace, b: PersistedWorkspace): boolean =>
  a.id === b.id && a.createdAtWallMs === b.createdAtWallMs && sameItems(a.warnings, b.warnings);

/** Packed again only when a field besides the spec changed (see packAnchored). */
export function packWorkspace(w: PersistedWorkspace): PersistedWorkspace {
  return packAnchored(packedWorkspaces, w.spec, w, sameWorkspace, packWorkspaceFields);
}

function packWorkspaceFields(w: PersistedWorkspace): PersistedWorkspace {
  return {
    createdAtWallMs: w.createdAtWallMs,
    id: w.id,
    spec: packWorkspaceSpec(w.spec),
    warnings: [...w.warnings],
  };
}

export function unpackV1(value: unknown): SnapshotV1 {
  // Stryker disable next-line StringLiteral: readVersion checked the root as an object first
  const o = obj(value, '');
  const workspaces = entries(o, 'workspaces', '', unpackWorkspace, (w) => w.id);
  return { version: 1, workspaces };
}

export function packV1(s: SnapshotV1): unknown {
  return { version: 1, workspaces: s.workspaces.map(packWorkspace) };
}
