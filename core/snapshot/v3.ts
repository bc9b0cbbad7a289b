/**
 * Snapshot v3: v2 + live supervised pipelines, relaunched on restore.
 * `{ version: 3, workspaces, savedPipelines,
 *    livePipelines: [{ id, spec, source, vars, tap, restarts, backoffMs }] }`.
 */

import type { PipelineSpec } from '../manifest/types.js';
import { packAnchored } from './canonical.js';
import { bool, entries, int, obj, str, strRecord } from './check.js';
import { checkPipelineSpec, packPipelineSpec } from './specs.js';
import type { PersistedLivePipeline } from './types.js';
import { packWorkspace } from './v1.js';
import { packSaved, type SnapshotV2, unpackV2 } from './v2.js';

export interface SnapshotV3 extends Omit<SnapshotV2, 'version'> {
  version: 3;
  livePipelines: PersistedLivePipeline[];
}

export function unpackLive(value: unknown, path: string): PersistedLivePipeline {
  const o = obj(value, path);
  return {
    id: str(o, 'id', path, true),
    spec: checkPipelineSpec(o.spec, `${path}.spec`),
    source: str(o, 'source', path),
    vars: strRecord(o, 'vars', path),
    tap: bool(o, 'tap', path),
    restarts: int(o, 'restarts', path),
    backoffMs: int(o, 'backoffMs', path),
  };
}

const packedLive = new WeakMap<
  PipelineSpec,
  { source: PersistedLivePipeline; packed: PersistedLivePipeline }
>();

function sameVars(a: Record<string, string>, b: Record<string, string>): boolean {
  // Stryker disable next-line ConditionalExpression: a fast path; the full compare agrees
  if (a === b) return true;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((k) => Object.hasOwn(b, k) && a[k] === b[k]);
}

const sameLive = (a: PersistedLivePipeline, b: PersistedLivePipeline): boolean =>
  a.id === b.id &&
  a.source === b.source &&
  a.tap === b.tap &&
  a.restarts === b.restarts &&
  a.backoffMs === b.backoffMs &&
  sameVars(a.vars, b.vars);

/** Packed again only when a field besides the spec changed (see packAnchored). */
export function packLive(p: PersistedLivePipeline): PersistedLivePipeline {
  return packAnchored(packedLive, p.spec, p, sameLive, packLiveFields);
}

function packLiveFields(p: PersistedLivePipeline): PersistedLivePipeline {
  return {
    backoffMs: p.backoffMs,
    id: p.id,
    restarts: p.restarts,
    source: p.source,
    spec: packPipelineSpec(p.spec),
    tap: p.tap,
    vars: Object.fromEntries(Object.entries(p.vars)),
  };
}

export function unpackV3(value: unknown): SnapshotV3 {
  const { workspaces, savedPipelines } = unpackV2(value);
  // Stryker disable next-line StringLiteral: readVersion checked the root as an object first
  const root = obj(value, '');
  const livePipelines = entries(root, 'livePipelines', '', unpackLive, (p) => p.id);
  return { version: 3, workspaces, savedPipelines, livePipelines };
}

export function packV3(s: SnapshotV3): unknown {
  return {
    version: 3,
    workspaces: s.workspaces.map(packWorkspace),
    savedPipelines: s.savedPipelines.map(packSaved),
    livePipelines: s.livePipelines.map(packLive),
  };
}

export function upgradeV2(s: SnapshotV2): SnapshotV3 {
  return { ...s, version: 3, livePipelines: [] };
}
