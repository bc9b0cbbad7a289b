/** State ↔ snapshot (declared intent), restore, and the deferred save. */

import {
  PERSISTED_SAMPLES_MAX,
  type PersistedLivePipeline,
  SNAPSHOT_VERSION,
  type Snapshot,
} from '../snapshot/index.js';
import { type Draft, resolveWorkspace } from './draft.js';
import { isLiveIntent } from './live.js';
import type { EngineEvent, EngineState, WorkspaceRec } from './model.js';
import { launchPipeline, newPipeline } from './pipeline.js';
import { capsOf, newWorkspace, provisionWorkspace } from './workspace.js';

type Ev<T extends EngineEvent['type']> = Extract<EngineEvent, { type: T }>;

/** The snapshot of a state: running workspaces, saved and live supervised pipelines, stats. */
export function toSnapshot(state: EngineState): Snapshot {
  const running = [...state.workspaces.values()].filter((ws) => ws.phase.kind === 'running');
  const livePipelines: PersistedLivePipeline[] = [...state.pipelines.values()]
    .filter((p) => isLiveIntent(p) && state.workspaces.get(p.wsId)?.phase.kind === 'running')
    .map((p) => ({
      id: p.id,
      spec: p.spec,
      source: p.source,
      vars: p.vars,
      tap: p.tap,
      restarts: p.restarts,
      backoffMs: p.tally.backoffMs,
    }));
  return {
    version: SNAPSHOT_VERSION,
    workspaces: running.map((ws) => ({
      id: ws.id,
      spec: ws.spec,
      createdAtWallMs: ws.createdAtWallMs,
      warnings: ws.warnings,
    })),
    savedPipelines: [...state.saved.values()].map((s) => ({ ...s })),
    livePipelines,
    stats: running
      .filter((ws) => ws.history.length > 0)
      .map((ws) => ({ workspaceId: ws.id, samples: ws.history.slice(-PERSISTED_SAMPLES_MAX) })),
  };
}

/** Restore: workspaces with their ids, saved pipelines, and each live pipeline relaunched once. */
export function onSnapshotRestored(d: Draft, e: Ev<'snapshot-restored'>): void {
  if (d.state.workspaces.size > 0 || d.state.pipelines.size > 0) {
    throw new Error('onSnapshotRestored: restore happens once, into an empty engine');
  }
  const { snapshot } = e;
  const caps = capsOf(d);
  for (const pw of snapshot.workspaces) {
    const fresh = newWorkspace(pw.id, pw.spec, caps, pw.createdAtWallMs);
    const samples = snapshot.stats.find((s) => s.workspaceId === pw.id)?.samples ?? [];
    const ws: WorkspaceRec = {
      ...fresh,
      warnings: pw.warnings,
      history: samples,
      historySource: 'persisted',
      rssPeakBytes: Math.max(0, ...samples.map((s) => s.rssBytes)),
    };
    d.put('workspaces', ws);
    provisionWorkspace(d, ws, pw.createdAtWallMs + pw.spec.ttlMs - e.wallMs);
  }
  for (const sp of snapshot.savedPipelines) d.put('saved', { ...sp });
  d.event('restore', {
    workspaces: snapshot.workspaces.length,
    saved_pipelines: snapshot.savedPipelines.length,
    live_pipelines: snapshot.livePipelines.length,
  });
}

/**
 * Relaunch one persisted live pipeline. A separate event from the restore, so the
 * workspaces' cgroups exist (and are in the envelope) before its processes are spawned.
 */
export function onPipelineRelaunch(d: Draft, e: Ev<'pipeline-relaunch'>): void {
  const lp = e.pipeline;
  if (e.nodeIds.length !== lp.spec.nodes.length) throw new Error('relaunch: one id per node');
  const ws = resolveWorkspace(d.state, lp.spec.workspace);
  const duplicate = d.state.pipelines.has(lp.id);
  if (ws?.phase.kind !== 'running' || duplicate) {
    const reason = duplicate ? 'duplicate id' : 'no workspace';
    d.event('restore-skip', { pipeline: lp.id, label: lp.spec.label, reason });
    d.markDirty();
    return;
  }
  const run = {
    source: lp.source,
    vars: lp.vars,
    tap: lp.tap,
    restarts: lp.restarts,
    backoffMs: lp.backoffMs,
  };
  const event = {
    type: 'pipeline-run' as const,
    id: lp.id,
    nodeIds: e.nodeIds,
    spec: lp.spec,
    run,
  };
  launchPipeline(d, newPipeline(event, ws.id, d.nowMs, 'later'));
}

export function onSaveTimer(d: Draft): void {
  if (!d.state.dirty) return;
  d.state = { ...d.state, dirty: false };
  d.emit({ type: 'write-snapshot', sync: false });
}

export function onFlush(d: Draft): void {
  d.cancelTimer({ kind: 'save' });
  onSaveTimer(d);
}

export function onSnapshotWriteFailed(d: Draft): void {
  d.markDirty();
}

export function onPipelineSave(d: Draft, e: Ev<'pipeline-save'>): void {
  if (e.name === '' || /[\s/]/.test(e.name)) {
    const message = `name must be non-empty without spaces or '/', got ${JSON.stringify(e.name)}`;
    d.refuse({ code: 'invalid', field: 'name', message });
    return;
  }
  d.put('saved', { name: e.name, source: e.source, savedAtWallMs: e.wallMs });
  d.writeThrough();
  d.event('pipeline-save', { name: e.name, bytes: e.source.length });
}

export function onPipelineDrop(d: Draft, e: Ev<'pipeline-drop'>): void {
  if (!d.state.saved.has(e.name)) {
    d.refuse({ code: 'not_found', message: `no saved pipeline "${e.name}"` });
    return;
  }
  d.delete('saved', e.name);
  d.writeThrough();
  d.event('pipeline-drop', { name: e.name });
}
