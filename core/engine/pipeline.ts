/**
 * Pipelines: run, then one state machine (PIPELINE_TABLE) for group spawn results, node
 * deaths, relaunches, stops and flow verdicts.
 */

import { nodeLogRotation } from '../manifest/pipeline.js';
import { freshTally, GIVE_UP_MESSAGE, isFailure, nextIncarnation } from '../policy/index.js';
import type { GroupRequest, PortError, ProcRequest, TapInfo } from '../ports.js';
import type { PipelineView } from './api.js';
import { type Draft, pipelineOf, resolveWorkspace, workspaceOf } from './draft.js';
import { refusedGrace, shortenGrace } from './grace.js';
import { isLiveIntent, pipelinePids } from './live.js';
import type {
  EngineEvent,
  NodeRec,
  PipelinePhase,
  PipelinePhaseKind,
  PipelineRec,
  StopState,
  Verdict,
} from './model.js';
import { deathFields, exitStatus } from './signals.js';

/** As for commands: a spawn that failed for lack of a daemon resource is retried. */
export const RESOURCE_RETRY_MS_MIN = 1000;

import { ensureSampling } from './stats.js';
import { type Cell, dispatch, type Table } from './table.js';

type Ev<T extends EngineEvent['type']> = Extract<EngineEvent, { type: T }>;

/** What can happen to a pipeline, once it exists. */
export type PipelineInput =
  | { type: 'group-spawned'; pids: number[]; taps: TapInfo[] }
  | { type: 'group-spawn-failed'; error: PortError }
  | { type: 'node-exited'; index: number; code: number | null; signal: string | null }
  | { type: 'restart-timer' }
  | { type: 'stop'; graceMs: number }
  | { type: 'operator-restart' }
  | { type: 'stop-grace-timer' }
  /** Its workspace (or the daemon) is stopping: no relaunch from now on. */
  | { type: 'quiesce' }
  | { type: 'edge-sniffed'; edgeIndex: number; verdict: Verdict };

/** The api.ts state a pipeline's phase shows as. */
export function pipelineState(phase: PipelinePhase): PipelineView['state'] {
  switch (phase.kind) {
    case 'spawning':
    case 'running':
    case 'stopping':
      return 'running';
    case 'backoff':
    case 'crash-loop':
      return phase.kind;
    case 'done':
      if (phase.reason === 'stopped' || phase.reason === 'gave-up') return phase.reason;
      return 'done';
  }
}

export function deliverPipeline(d: Draft, id: string, input: PipelineInput): void {
  const p = pipelineOf(d.state, id);
  dispatch(d, PIPELINE_TABLE, p.phase.kind, p, input, { name: `pipeline "${p.label}"` });
}

export function onPipelineRun(d: Draft, e: Ev<'pipeline-run'>): void {
  if (d.state.pipelines.has(e.id)) throw new Error(`engine: pipeline id ${e.id} reused`);
  if (e.nodeIds.length !== e.spec.nodes.length) throw new Error('engine: one id per node');
  const ws = resolveWorkspace(d.state, e.spec.workspace);
  if (!ws) {
    const message = `no workspace "${e.spec.workspace}"`;
    d.refuse({ code: 'not_found', field: 'workspace', message });
    return;
  }
  if (ws.phase.kind !== 'running') {
    d.refuse({ code: 'conflict', message: `workspace "${ws.spec.label}" is stopping` });
    return;
  }
  const p = newPipeline(e, ws.id, d.nowMs, 'caller');
  d.put('pipelines', p);
  if (isLiveIntent(p)) d.writeThrough();
  launchPipeline(d, p);
}

/** Start a new pipeline record (run, or restore). */
export function launchPipeline(d: Draft, p: PipelineRec): void {
  d.put('pipelines', p);
  const fields = { pipeline: p.id, label: p.label, ws: p.wsId, nodes: p.nodes.length };
  d.event('pipeline-run', { ...fields, supervised: p.spec.restart.restartOnFailure });
  const origin = p.phase.kind === 'spawning' ? p.phase.origin : 'later';
  spawnPipeline(d, p, origin);
}

export function newPipeline(
  e: Ev<'pipeline-run'>,
  wsId: string,
  nowMs: number,
  origin: 'caller' | 'later',
): PipelineRec {
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
    phase: { kind: 'spawning', origin },
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
    finishedSeq: 0,
    spawns: 0,
  };
}

export function groupRequest(d: Draft, p: PipelineRec): GroupRequest {
  const ws = workspaceOf(d.state, p.wsId);
  const { discern } = p.spec;
  return {
    nodes: p.spec.nodes.map((n, i) => {
      const node: ProcRequest = {
        exec: n.payload.exec,
        argv: n.payload.argv,
        envp: n.payload.envp,
        cwd: '',
        envelope: ws.envelope,
        notify: false,
        watchdogUs: 0,
      };
      const logs = nodeLogRotation(p.spec, i);
      if (logs) node.logs = logs;
      return node;
    }),
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

function spawnPipeline(d: Draft, p: PipelineRec, origin: 'caller' | 'later'): void {
  if (pipelinePids(p).length !== 0) throw new Error(`spawnPipeline: ${p.id} has live nodes`);
  if (d.state.shutdown) throw new Error(`spawnPipeline: ${p.id} during the daemon's shutdown`);
  const phase: PipelinePhase = { kind: 'spawning', origin };
  d.put('pipelines', { ...p, phase, lastStartMs: d.nowMs, verdicts: [], taps: [] });
  d.emit({ type: 'spawn-group', pipelineId: p.id, key: p.id, req: groupRequest(d, p) });
}

function onGroupSpawned(d: Draft, p: PipelineRec, e: { pids: number[]; taps: TapInfo[] }) {
  if (e.pids.length !== p.nodes.length) throw new Error('onGroupSpawned: one pid per node');
  const nodes = p.nodes.map((n, i) => ({ ...n, pid: e.pids[i] ?? null, alive: true, exit: null }));
  const started = { nodes, taps: e.taps, startedAtMs: d.nowMs, spawns: p.spawns + 1 };
  d.put('pipelines', { ...p, ...started, phase: { kind: 'running' } });
  e.pids.forEach((pid, index) => {
    if (d.state.pids.has(pid)) throw new Error(`onGroupSpawned: pid ${pid} already owned`);
    d.setPid(pid, { kind: 'node', id: p.id, index });
  });
  ensureSampling(d);
}

function onGroupSpawnFailed(d: Draft, p: PipelineRec, e: { error: PortError }): void {
  const fields = { pipeline: p.id, label: p.label, reason: e.error.reason };
  d.event('spawn-failed', { ...fields, message: e.error.message });
  if (p.spawns === 0 && p.phase.kind === 'spawning' && p.phase.origin === 'caller') {
    // Never ran: the caller gets the error; the intent written for it is withdrawn.
    d.delete('pipelines', p.id);
    d.emit({ type: 'release', key: p.id });
    if (p.spec.restart.restartOnFailure) d.markDirty();
    return;
  }
  if (e.error.reason === 'LimitExceeded') {
    // The daemon ran out (fds, memory): not the pipeline's failure. Try again later.
    const delayMs = Math.max(RESOURCE_RETRY_MS_MIN, p.tally.backoffMs);
    const atMs = d.nowMs + delayMs;
    d.put('pipelines', { ...p, phase: { kind: 'backoff', atMs, delayMs } });
    d.armTimer({ kind: 'pipeline-restart', id: p.id }, atMs);
    d.event('spawn-deferred', { ...fields, backoff_ms: delayMs });
    return;
  }
  // A spawn that failed ran for 0 ms, whatever the last incarnation did.
  afterGroupDeath(d, p, { code: null, signal: null }, 0);
}

function onNodeExited(
  d: Draft,
  p: PipelineRec,
  e: { index: number; code: number | null; signal: string | null },
): void {
  const node = p.nodes[e.index];
  if (!node?.alive || node.pid === null) {
    throw new Error(`onNodeExited: ${p.id}[${e.index}] not alive`);
  }
  d.deletePid(node.pid);
  const exit = exitStatus(e.code, e.signal);
  const nodes = p.nodes.map((n, i) => (i === e.index ? { ...n, alive: false, exit } : n));
  const phase: PipelinePhase =
    p.phase.kind === 'stopping'
      ? { ...p.phase, stop: { ...p.phase.stop, reaped: p.phase.stop.reaped + 1 } }
      : p.phase;
  const next = { ...p, nodes, phase };
  d.put('pipelines', next);
  const death = deathFields(exit);
  d.event('exit', { ws: p.wsId, pipeline: p.id, node: node.label, pid: node.pid, ...death });
  if (nodes.every((n) => !n.alive)) {
    const failed = nodes.map((n) => n.exit).find((x) => x !== null && isFailure(x));
    afterGroupDeath(d, next, failed ?? { code: 0, signal: null }, d.nowMs - p.startedAtMs);
  }
  d.raise({ type: 'workspace-reaped', wsId: p.wsId });
}

function afterGroupDeath(
  d: Draft,
  p: PipelineRec,
  exit: { code: number | null; signal: string | null },
  runMs: number,
): void {
  if (p.phase.kind === 'stopping') {
    finishPipelineStop(d, p);
    return;
  }
  const ws = workspaceOf(d.state, p.wsId);
  const { next, tally, deathsMs } = nextIncarnation(
    {
      restart: p.spec.restart,
      crashLoop: p.spec.crashLoop,
      exit,
      runMs,
      stopping: ws.phase.kind !== 'running' || d.state.shutdown !== null,
      tally: p.tally,
      deathsMs: p.deathsMs,
      nowMs: d.nowMs,
      lastStartMs: p.lastStartMs,
    },
    d.policy,
  );
  const base = { pipeline: p.id, label: p.label, ws: p.wsId };
  const after = { ...p, tally, deathsMs };
  switch (next.kind) {
    case 'done':
      finishPipeline(d, after, { kind: 'done', reason: next.reason });
      return;
    case 'give-up':
      d.event('give-up', { ...base, restarts: p.restarts, message: GIVE_UP_MESSAGE });
      finishPipeline(d, after, { kind: 'done', reason: 'gave-up' });
      return;
    case 'crash-loop':
      d.event('crash-loop', { ...base, deaths: next.deaths, restarts: p.restarts });
      finishPipeline(d, after, { kind: 'crash-loop' });
      return;
    case 'backoff': {
      const { atMs, delayMs } = next;
      d.put('pipelines', { ...after, phase: { kind: 'backoff', atMs, delayMs } });
      d.armTimer({ kind: 'pipeline-restart', id: p.id }, atMs);
      d.event('pipeline-restart', { ...base, backoff_ms: delayMs, restarts: p.restarts + 1 });
      d.markDirty();
    }
  }
}

function finishPipeline(d: Draft, p: PipelineRec, phase: PipelinePhase): void {
  const seq = d.state.finishedSeq + 1;
  d.state = { ...d.state, finishedSeq: seq };
  d.put('pipelines', { ...p, phase, finishedSeq: seq });
  d.event('pipeline-end', { pipeline: p.id, label: p.label, state: pipelineState(phase) });
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

function onRestartTimer(d: Draft, p: PipelineRec): void {
  d.emit({ type: 'release', key: p.id });
  spawnPipeline(d, { ...p, restarts: p.restarts + 1 }, 'later');
}

export function onPipelineStop(d: Draft, e: Ev<'pipeline-stop'>): void {
  if (!d.state.pipelines.has(e.id)) {
    d.refuse({ code: 'not_found', message: `no pipeline "${e.id}"` });
    return;
  }
  if (refusedGrace(d, e.graceMs)) return;
  deliverPipeline(d, e.id, { type: 'stop', graceMs: e.graceMs });
}

function beginStop(d: Draft, p: PipelineRec, e: { graceMs: number }): void {
  if (workspaceOf(d.state, p.wsId).phase.kind === 'stopping') {
    stopAgain(d, p, e);
    return;
  }
  const wasIntent = isLiveIntent(p);
  const stop: StopState = { graceMs: e.graceMs, reaped: 0, killed: false };
  const stopping = { ...p, phase: { kind: 'stopping', stop, after: 'done' } as const };
  d.put('pipelines', stopping);
  if (wasIntent) d.writeThrough();
  d.cancelTimer({ kind: 'pipeline-restart', id: p.id });
  d.event('pipeline-stop', { pipeline: p.id, label: p.label, grace_ms: e.graceMs });
  const pids = pipelinePids(p);
  if (pids.length === 0) {
    finishPipelineStop(d, stopping);
    return;
  }
  if (e.graceMs === 0) {
    killPipeline(d, p.id);
    return;
  }
  for (const pid of pids) d.emit({ type: 'signal', pid, signal: 'SIGTERM' });
  d.armTimer({ kind: 'pipeline-stop-grace', id: p.id }, d.nowMs + e.graceMs);
}

function stopAgain(d: Draft, p: PipelineRec, e: { graceMs: number }): void {
  const ws = workspaceOf(d.state, p.wsId);
  if (ws.phase.kind === 'stopping') {
    // Its workspace's stop owns the deadline: shorten that one.
    d.raise({ type: 'workspace-stop', ref: ws.id, graceMs: e.graceMs, reason: 'operator' });
    return;
  }
  if (p.phase.kind === 'stopping' && p.phase.after === 'respawn') {
    // A stop during an operator restart: it ends stopped; the restart's caller is answered.
    d.put('pipelines', { ...p, phase: { ...p.phase, after: 'done' } });
    if (p.spec.restart.restartOnFailure) d.writeThrough(); // no longer declared
    d.emit({ type: 'settle', kind: 'pipeline-restart', id: p.id, reaped: 0 });
  }
  const key = { kind: 'pipeline-stop-grace', id: p.id } as const;
  shortenGrace(d, key, e.graceMs, () => killPipeline(d, p.id));
}

function killPipeline(d: Draft, id: string): void {
  const p = pipelineOf(d.state, id);
  if (p.phase.kind !== 'stopping') throw new Error('killPipeline: only a stopping one is killed');
  for (const pid of pipelinePids(p)) d.emit({ type: 'signal', pid, signal: 'SIGKILL' });
  const stop = { ...p.phase.stop, killed: true };
  d.put('pipelines', { ...p, phase: { ...p.phase, stop } });
  d.cancelTimer({ kind: 'pipeline-stop-grace', id });
}

function onStopGrace(d: Draft, p: PipelineRec): void {
  if (p.phase.kind === 'stopping' && !p.phase.stop.killed) killPipeline(d, p.id);
}

function finishPipelineStop(d: Draft, p: PipelineRec): void {
  d.cancelTimer({ kind: 'pipeline-stop-grace', id: p.id });
  const ws = workspaceOf(d.state, p.wsId);
  if (ws.phase.kind === 'stopping') return; // the workspace's stop finishes it
  const reaped = p.phase.kind === 'stopping' ? p.phase.stop.reaped : 0;
  if (p.phase.kind === 'stopping' && p.phase.after === 'respawn') {
    if (!d.state.shutdown) {
      relaunchFresh(d, p);
      return;
    }
    d.emit({ type: 'settle', kind: 'pipeline-restart', id: p.id, reaped });
  }
  d.emit({ type: 'settle', kind: 'pipeline', id: p.id, reaped });
  d.event('pipeline-stopped', { pipeline: p.id, label: p.label, reaped });
  finishPipeline(d, p, { kind: 'done', reason: 'stopped' });
}

function quiesceRunning(d: Draft, p: PipelineRec): void {
  const stop: StopState = { graceMs: 0, reaped: 0, killed: false };
  d.put('pipelines', { ...p, phase: { kind: 'stopping', stop, after: 'done' } });
}

/** How long an operator restart gives the nodes between SIGTERM and SIGKILL. */
export const OPERATOR_RESTART_GRACE_MS = 1000;

/** Operator restart of a live pipeline: its nodes are stopped, then it starts afresh. */
function restartLive(d: Draft, p: PipelineRec): void {
  d.event('pipeline-restart', { pipeline: p.id, label: p.label, ws: p.wsId, operator: true });
  const stop: StopState = { graceMs: OPERATOR_RESTART_GRACE_MS, reaped: 0, killed: false };
  d.put('pipelines', { ...p, phase: { kind: 'stopping', stop, after: 'respawn' } });
  for (const pid of pipelinePids(p)) d.emit({ type: 'signal', pid, signal: 'SIGTERM' });
  const key = { kind: 'pipeline-stop-grace', id: p.id } as const;
  d.armTimer(key, d.nowMs + OPERATOR_RESTART_GRACE_MS);
}

/** Operator restart of a pipeline that is not running: a fresh start now. */
function restartDead(d: Draft, p: PipelineRec): void {
  d.event('pipeline-restart', { pipeline: p.id, label: p.label, ws: p.wsId, operator: true });
  d.cancelTimer({ kind: 'pipeline-restart', id: p.id });
  relaunchFresh(d, p);
}

function relaunchFresh(d: Draft, p: PipelineRec): void {
  const fresh = { ...p, tally: freshTally(p.spec.restart), deathsMs: [], finishedSeq: 0 };
  d.emit({ type: 'release', key: p.id });
  spawnPipeline(d, { ...fresh, restarts: p.restarts + 1 }, 'later');
  if (p.spec.restart.restartOnFailure) d.markDirty();
  d.emit({ type: 'settle', kind: 'pipeline-restart', id: p.id, reaped: 0 });
}

export function onPipelineOperatorRestart(d: Draft, e: Ev<'pipeline-restart'>): void {
  const p = d.state.pipelines.get(e.id);
  if (!p) {
    d.refuse({ code: 'not_found', message: `no pipeline "${e.id}"` });
    return;
  }
  if (workspaceOf(d.state, p.wsId).phase.kind !== 'running') {
    d.refuse({ code: 'conflict', message: `pipeline "${p.label}": its workspace is stopping` });
    return;
  }
  deliverPipeline(d, e.id, { type: 'operator-restart' });
}

function quiesceBackoff(d: Draft, p: PipelineRec): void {
  d.cancelTimer({ kind: 'pipeline-restart', id: p.id });
  d.put('pipelines', { ...p, phase: { kind: 'done', reason: 'stopped' } });
}

function onEdgeSniffed(d: Draft, p: PipelineRec, e: { edgeIndex: number; verdict: Verdict }) {
  const edge = p.spec.edges[e.edgeIndex];
  if (!edge) return;
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

type P<T extends PipelineInput['type']> = Cell<PipelineRec, Extract<PipelineInput, { type: T }>>;
type Row = { [T in PipelineInput['type']]: P<T> };

/** Finished: nothing runs; a stop finishes it again as `stopped` (and settles its caller). */
const FINISHED: Row = {
  'group-spawned': 'bug',
  'group-spawn-failed': 'bug',
  'node-exited': 'bug',
  'restart-timer': 'ignore',
  stop: beginStop,
  'operator-restart': restartDead,
  'stop-grace-timer': 'ignore',
  quiesce: 'ignore',
  'edge-sniffed': onEdgeSniffed,
};

export const PIPELINE_TABLE: Table<PipelinePhaseKind, PipelineInput, PipelineRec> = {
  // Spawn effects are answered within the step that asked: nothing else reaches it.
  spawning: {
    'group-spawned': onGroupSpawned,
    'group-spawn-failed': onGroupSpawnFailed,
    'node-exited': 'bug',
    'restart-timer': 'bug',
    stop: 'bug',
    'operator-restart': 'bug',
    'stop-grace-timer': 'bug',
    quiesce: 'bug',
    'edge-sniffed': 'ignore',
  },
  running: {
    'group-spawned': 'bug',
    'group-spawn-failed': 'bug',
    'node-exited': onNodeExited,
    'restart-timer': 'ignore',
    stop: beginStop,
    'operator-restart': restartLive,
    'stop-grace-timer': 'ignore',
    quiesce: quiesceRunning,
    'edge-sniffed': onEdgeSniffed,
  },
  stopping: {
    'group-spawned': 'bug',
    'group-spawn-failed': 'bug',
    'node-exited': onNodeExited,
    'restart-timer': 'ignore',
    stop: stopAgain,
    'operator-restart': 'refuse',
    'stop-grace-timer': onStopGrace,
    quiesce: (d, p) => {
      // An operator restart under way ends with its workspace instead.
      if (p.phase.kind === 'stopping')
        d.put('pipelines', { ...p, phase: { ...p.phase, after: 'done' } });
    },
    'edge-sniffed': onEdgeSniffed,
  },
  backoff: { ...FINISHED, 'restart-timer': onRestartTimer, quiesce: quiesceBackoff },
  'crash-loop': FINISHED,
  done: FINISHED,
};
