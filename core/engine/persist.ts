/** State ↔ snapshot (declared intent), restore, and the deferred save. */

import {
  PERSISTED_SAMPLES_MAX,
  type PersistedCommand,
  type PersistedLivePipeline,
  SNAPSHOT_VERSION,
  type Snapshot,
} from '../snapshot/index.js';
import { isService, newCommand, startRestored } from './command.js';
import { type Draft, resolveCommand, resolveWorkspace } from './draft.js';
import { isLiveIntent } from './live.js';
import type { CommandRec, EngineEvent, EngineState, WorkspaceRec } from './model.js';
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
  const commands: PersistedCommand[] = [];
  for (const ws of running) {
    for (const id of ws.commandIds) {
      const cmd = state.commands.get(id);
      // The daemon's own stop ends its one-shots on purpose: nothing of them is lost.
      if (state.shutdown && cmd?.spec.restart === 'no') continue;
      if (cmd && isPersisted(cmd)) commands.push(persistedCommand(cmd));
    }
  }
  return {
    version: SNAPSHOT_VERSION,
    commands,
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

/**
 * What a restore must bring back: a service that is not stopped for good (relaunched),
 * and a one-shot that is alive (reported lost: its exit will never be known).
 */
function isPersisted(cmd: CommandRec): boolean {
  const { phase } = cmd;
  if (phase.kind === 'stopping') return phase.after === 'respawn';
  if (phase.kind === 'done') return false;
  if (isService(cmd)) return true;
  return phase.kind === 'spawning' || phase.kind === 'starting' || phase.kind === 'running';
}

function persistedCommand(cmd: CommandRec): PersistedCommand {
  const { id, wsId, spec, restarts, tally } = cmd;
  return { id, workspaceId: wsId, spec, restarts, backoffMs: tally.backoffMs };
}

/**
 * Commands of the snapshot: services come back with their ids and labels and start (or
 * wait for their dependencies, once every record is back); one-shots that were running
 * come back as `lost`. A command whose workspace is gone, or whose id or label is taken,
 * is skipped with an event.
 */
export function onCommandsRestored(
  d: Draft,
  e: Extract<EngineEvent, { type: 'commands-restored' }>,
) {
  const services: string[] = [];
  for (const pc of e.commands) {
    const ws = d.state.workspaces.get(pc.workspaceId);
    const clash = d.state.commands.has(pc.id) || (ws && resolveCommand(d.state, ws, pc.spec.label));
    if (ws?.phase.kind !== 'running' || clash) {
      const reason = ws ? 'duplicate id or label' : 'no workspace';
      d.event('restore-skip', { cmd: pc.id, label: pc.spec.label, reason });
      d.markDirty();
      continue;
    }
    const fresh = newCommand(pc.id, ws.id, pc.spec, d.nowMs);
    const restored = { ...fresh, restarts: pc.restarts };
    // A relaunched service starts a fresh incident (fresh backoff and crash-loop window),
    // as a new boot does; the restart count is kept for the view.
    const cmd: CommandRec =
      pc.spec.restart === 'no'
        ? { ...restored, phase: { kind: 'done', reason: 'lost' } }
        : restored;
    d.put('commands', cmd);
    d.put('workspaces', { ...ws, commandIds: [...ws.commandIds, cmd.id] });
    if (cmd.phase.kind === 'done') {
      d.event('lost', { ws: ws.id, cmd: cmd.id, label: cmd.label });
      d.markDirty();
    } else {
      services.push(cmd.id);
    }
  }
  for (const id of services) startRestored(d, id);
  // Lost records count toward the bound of dead records like any other.
  for (const wsId of new Set(e.commands.map((c) => c.workspaceId))) {
    // Stryker disable next-line ConditionalExpression: an evict where no workspace is does nothing
    if (d.state.workspaces.has(wsId)) d.raise({ type: 'commands-evict', wsId });
  }
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
    commands: snapshot.commands.length,
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
