/** Pipeline handlers: run (spawn-group), node deaths, group relaunch, stop, verdicts. */

import { freshTally, GIVE_UP_MESSAGE, isFailure } from '../policy/index.js';
import type { GroupRequest } from '../ports.js';
import { deathFields } from './command.js';
import { type Draft, pipelineOf, resolveWorkspace, workspaceOf } from './draft.js';
import { isLiveIntent, pipelinePids } from './live.js';
import type { EngineEvent, NodeRec, PipelineRec } from './model.js';
import { exitStatus } from './signals.js';
import { ensureSampling } from './stats.js';
import { killWorkspace, noteWorkspaceDeath, refusedGrace, shortenGrace } from './workspace.js';

type Ev<T extends EngineEvent['type']> = Extract<EngineEvent, { type: T }>;

export function onPipelineRun(d: Draft, e: Ev<'pipeline-run'>): void {
  if (d.state.pipelines.has(e.id)) throw new Error(`engine: pipeline id ${e.id} reused`);
  if (e.nodeIds.length !== e.spec.nodes.length) throw new Error('engine: one id per node');
  const ws = resolveWorkspace(d.state, e.spec.workspace);
  if (!ws) {
    const message = `no workspace "${e.spec.workspace}"`;
    d.refuse({ code: 'not_found', field: 'workspace', message });
    return;
  }
  if (ws.state !== 'running') {
    d.refuse({ code: 'conflict', message: `workspace "${ws.spec.label}" is stopping` });
    return;
  }
  const p = newPipeline(e, ws.id, d.nowMs);
  d.put('pipelines', p);
  if (isLiveIntent(p)) d.writeThrough();
  launchPipeline(d, p);
}

/** Start a pipeline record that is already in the state (run, or restore). */
export function launchPipeline(d: Draft, p: PipelineRec): void {
  d.put('pipelines', p);
  const fields = { pipeline: p.id, label: p.label, ws: p.wsId, nodes: p.nodes.length };
  d.event('pipeline-run', { ...fields, supervised: p.spec.restart.restartOnFailure });
  spawnPipeline(d, p.id);
}

export function newPipeline(e: Ev<'pipeline-run'>, wsId: string, nowMs: number): PipelineRec {
  const nodes: NodeRec[] = e.spec.nodes.map((n, i) => ({
    label: n.label,
    commandId: e.nodeIds[i] as string,
    pid: null,
    alive: false,
    exit: null,
  }));
  return {
    id: e.id,
    label: e.spec.label,
    wsId,
    spec: e.spec,
    source: e.run.source,
    vars: e.run.vars,
    tap: e.run.tap,
    state: 'running',
    nodes,
    restarts: e.run.restarts,
    tally:
      e.run.backoffMs > 0
        ? { restarts: e.run.restarts, backoffMs: e.run.backoffMs }
        : { ...freshTally(e.spec.restart), restarts: e.run.restarts },
    deathsMs: [],
    startedAtMs: nowMs,
    lastStartMs: null,
    taps: [],
    verdicts: [],
    stop: null,
    finishedSeq: 0,
    spawns: 0,
    fresh: true,
    delayMs: 0,
  };
}

export function groupRequest(d: Draft, p: PipelineRec): GroupRequest {
  const ws = workspaceOf(d.state, p.wsId);
  const { discern } = p.spec;
  return {
    nodes: p.spec.nodes.map((n) => ({
      exec: n.payload.exec,
      argv: n.payload.argv,
      envp: n.payload.envp,
      cwd: '',
      envelope: ws.envelope,
      notify: false,
    })),
    edges: p.spec.edges.map((e) => ({ from: e.from, fromOutput: e.fromOutput, to: e.to })),
    taps: p.tap
      ? p.spec.edges.map((_, edgeIndex) => ({
          edgeIndex,
          sampleBytes: discern.sampleBytes,
          replayChunks: discern.replayChunks,
          replayBytes: discern.replayBytes,
        }))
      : [],
    maxBytesPerSec: discern.maxBytesPerSec,
  };
}

export function spawnPipeline(d: Draft, id: string): void {
  const p = pipelineOf(d.state, id);
  if (pipelinePids(p).length !== 0) throw new Error(`spawnPipeline: ${id} still has live nodes`);
  d.put('pipelines', { ...p, state: 'running', lastStartMs: d.nowMs, verdicts: [], taps: [] });
  d.emit({ type: 'spawn-group', pipelineId: id, key: id, req: groupRequest(d, p) });
}

export function onGroupSpawned(d: Draft, e: Ev<'group-spawned'>): void {
  const p = pipelineOf(d.state, e.pipelineId);
  if (e.pids.length !== p.nodes.length) throw new Error('onGroupSpawned: one pid per node');
  const nodes = p.nodes.map((n, i) => ({ ...n, pid: e.pids[i] ?? null, alive: true, exit: null }));
  d.put('pipelines', { ...p, nodes, taps: e.taps, startedAtMs: d.nowMs, spawns: p.spawns + 1 });
  e.pids.forEach((pid, index) => {
    if (d.state.pids.has(pid)) throw new Error(`onGroupSpawned: pid ${pid} already owned`);
    d.setPid(pid, { kind: 'node', id: p.id, index });
  });
  ensureSampling(d);
}

export function onGroupSpawnFailed(d: Draft, e: Ev<'group-spawn-failed'>): void {
  const p = pipelineOf(d.state, e.pipelineId);
  const fields = { pipeline: p.id, label: p.label, reason: e.error.reason };
  d.event('spawn-failed', { ...fields, message: e.error.message });
  if (p.spawns === 0 && p.fresh) {
    // Never ran: the caller gets the error; the intent written for it is withdrawn.
    d.delete('pipelines', p.id);
    d.emit({ type: 'release', key: p.id });
    if (p.spec.restart.restartOnFailure) d.markDirty();
    return;
  }
  // A spawn that failed ran for 0 ms, whatever the last incarnation did.
  afterGroupDeath(d, p, { code: null, signal: null }, 0);
}

export function onNodeExited(
  d: Draft,
  id: string,
  index: number,
  code: number | null,
  signal: string | null,
): void {
  const p = pipelineOf(d.state, id);
  const node = p.nodes[index];
  if (!node?.alive || node.pid === null) throw new Error(`onNodeExited: ${id}[${index}] not alive`);
  d.deletePid(node.pid);
  const exit = exitStatus(code, signal);
  const nodes = p.nodes.map((n, i) => (i === index ? { ...n, alive: false, exit } : n));
  const stop = p.stop ? { ...p.stop, reaped: p.stop.reaped + 1 } : null;
  const next = { ...p, nodes, stop };
  d.put('pipelines', next);
  const death = deathFields(exit);
  d.event('exit', { ws: p.wsId, pipeline: p.id, node: node.label, pid: node.pid, ...death });
  if (nodes.every((n) => !n.alive)) {
    const failed = nodes.map((n) => n.exit).find((x) => x !== null && isFailure(x));
    afterGroupDeath(d, next, failed ?? { code: 0, signal: null }, d.nowMs - p.startedAtMs);
  }
  noteWorkspaceDeath(d, p.wsId);
}

function afterGroupDeath(
  d: Draft,
  p: PipelineRec,
  exit: { code: number | null; signal: string | null },
  runMs: number,
): void {
  if (p.stop) {
    finishPipelineStop(d, p.id);
    return;
  }
  const ws = workspaceOf(d.state, p.wsId);
  const decision = d.policy.decideRestart(
    p.spec.restart,
    exit,
    p.tally,
    runMs,
    ws.state !== 'running',
  );
  const base = { pipeline: p.id, label: p.label, ws: p.wsId };
  if (decision.kind === 'done') {
    finishPipeline(d, p, 'done');
    return;
  }
  if (decision.kind === 'give-up') {
    d.event('give-up', { ...base, restarts: p.restarts, message: GIVE_UP_MESSAGE });
    finishPipeline(d, p, 'gave-up');
    return;
  }
  const guard = d.policy.recordDeath(p.deathsMs, d.nowMs, p.spec.crashLoop);
  if (guard.crashLoop) {
    d.event('crash-loop', { ...base, deaths: guard.deathsMs.length, restarts: p.restarts });
    finishPipeline(d, { ...p, deathsMs: guard.deathsMs }, 'crash-loop');
    return;
  }
  const atMs = d.policy.throttleStartMs(p.lastStartMs, d.nowMs + decision.delayMs);
  const next = {
    ...p,
    state: 'backoff' as const,
    tally: decision.tally,
    deathsMs: guard.deathsMs,
    delayMs: atMs - d.nowMs,
  };
  d.put('pipelines', next);
  d.armTimer(`prestart:${p.id}`, atMs);
  d.event('pipeline-restart', { ...base, backoff_ms: atMs - d.nowMs, restarts: p.restarts + 1 });
  d.markDirty();
}

function finishPipeline(d: Draft, p: PipelineRec, state: PipelineRec['state']): void {
  const seq = d.state.finishedSeq + 1;
  d.state = { ...d.state, finishedSeq: seq };
  d.put('pipelines', { ...p, state, finishedSeq: seq });
  d.event('pipeline-end', { pipeline: p.id, label: p.label, state });
  if (p.spec.restart.restartOnFailure) d.markDirty();
  evictFinished(d);
}

/** Finished pipelines stay visible, bounded: the oldest finished go first. */
function evictFinished(d: Draft): void {
  const finished = [...d.state.pipelines.values()]
    .filter((p) => p.finishedSeq > 0)
    .sort((a, b) => a.finishedSeq - b.finishedSeq);
  const excess = finished.length - d.state.options.deadCommandsMax;
  for (const p of finished.slice(0, Math.max(0, excess))) {
    d.delete('pipelines', p.id);
    d.emit({ type: 'release', key: p.id });
  }
}

export function onPipelineRestartTimer(d: Draft, id: string): void {
  const p = d.state.pipelines.get(id);
  if (p?.state !== 'backoff' || p.stop) return;
  d.put('pipelines', { ...p, restarts: p.restarts + 1 });
  d.emit({ type: 'release', key: p.id });
  spawnPipeline(d, id);
}

export function onPipelineStop(d: Draft, e: Ev<'pipeline-stop'>): void {
  const p = d.state.pipelines.get(e.id);
  if (!p) {
    d.refuse({ code: 'not_found', message: `no pipeline "${e.id}"` });
    return;
  }
  if (refusedGrace(d, e.graceMs)) return;
  if (p.stop) {
    const ws = workspaceOf(d.state, p.wsId);
    if (ws.state === 'stopping') {
      // Its workspace's stop owns the deadline: shorten that one.
      shortenGrace(d, `stop-grace:${ws.id}`, e.graceMs, () => killWorkspace(d, ws.id));
    } else {
      shortenGrace(d, `pstop-grace:${p.id}`, e.graceMs, () => killPipeline(d, p.id));
    }
    return;
  }
  const wasIntent = isLiveIntent(p);
  d.put('pipelines', { ...p, stop: { graceMs: e.graceMs, reaped: 0, killed: false } });
  if (wasIntent) d.writeThrough();
  d.cancelTimer(`prestart:${p.id}`);
  d.event('pipeline-stop', { pipeline: p.id, label: p.label, grace_ms: e.graceMs });
  const pids = pipelinePids(p);
  if (pids.length === 0) {
    finishPipelineStop(d, p.id);
    return;
  }
  if (e.graceMs === 0) {
    killPipeline(d, p.id);
    return;
  }
  for (const pid of pids) d.emit({ type: 'signal', pid, signal: 'SIGTERM' });
  d.armTimer(`pstop-grace:${p.id}`, d.nowMs + e.graceMs);
}

export function killPipeline(d: Draft, id: string): void {
  const p = pipelineOf(d.state, id);
  if (!p.stop) throw new Error('killPipeline: only a stopping pipeline is killed');
  for (const pid of pipelinePids(p)) d.emit({ type: 'signal', pid, signal: 'SIGKILL' });
  d.put('pipelines', { ...p, stop: { ...p.stop, killed: true } });
  d.cancelTimer(`pstop-grace:${id}`);
}

export function onPipelineGrace(d: Draft, id: string): void {
  const p = d.state.pipelines.get(id);
  if (p?.stop && !p.stop.killed) killPipeline(d, id);
}

function finishPipelineStop(d: Draft, id: string): void {
  const p = pipelineOf(d.state, id);
  d.cancelTimer(`pstop-grace:${id}`);
  const ws = workspaceOf(d.state, p.wsId);
  if (ws.state === 'stopping') return; // the workspace's stop finishes it
  d.emit({ type: 'settle', kind: 'pipeline', id, reaped: p.stop?.reaped ?? 0 });
  d.event('pipeline-stopped', { pipeline: id, label: p.label, reaped: p.stop?.reaped ?? 0 });
  finishPipeline(d, { ...p, stop: null }, 'stopped');
}

export function onEdgeSniffed(d: Draft, e: Ev<'edge-sniffed'>): void {
  const p = d.state.pipelines.get(e.key);
  const edge = p?.spec.edges[e.edgeIndex];
  if (!p || !edge) return;
  const verdict = { edgeIndex: e.edgeIndex, ...e.verdict };
  const verdicts = [...p.verdicts.filter((v) => v.edgeIndex !== e.edgeIndex), verdict];
  d.put('pipelines', { ...p, verdicts: verdicts.sort((a, b) => a.edgeIndex - b.edgeIndex) });
  const { ty, mime, confPermille } = e.verdict;
  const fields = { pipeline: p.id, edge: e.edgeIndex, ty, mime, conf_permille: confPermille };
  d.event('flow-verdict', fields);
  if (!p.spec.discern.enrichProducer) return;
  const from = p.spec.nodes[edge.from]?.label ?? String(edge.from);
  d.event(`shipote.flow.${p.label}.${from}.${edge.fromOutput}.${ty}`, fields);
}
