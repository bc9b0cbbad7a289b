/**
 * Workspaces: create, then one state machine (WORKSPACE_TABLE): stop (TERM → grace →
 * KILL), TTL, reaped processes, cgroup results.
 */

import { checkCgroupPath } from '../manifest/index.js';
import type { WorkspaceSpec } from '../manifest/types.js';
import type { CgroupCaps, Envelope, PortError } from '../ports.js';
import { type Draft, resolveWorkspace, workspaceOf } from './draft.js';
import { refusedGrace, shortenGrace } from './grace.js';
import { commandsOf, livePids, pipelinesOf } from './live.js';
import type { EngineEvent, StopState, WorkspaceRec } from './model.js';
import { type Cell, dispatch, type Table } from './table.js';

type Ev<T extends EngineEvent['type']> = Extract<EngineEvent, { type: T }>;

export const WARN_CGROUP = 'cgroup not delegated: limits are accounted, not enforced';
export const WARN_USERNS = 'user namespaces unavailable';

export function capsOf(d: Draft): CgroupCaps {
  const caps = d.state.caps;
  if (!caps) throw new Error('engine: caps must be known (daemon-started) before workspaces');
  return caps;
}

export function envelopeFor(spec: WorkspaceSpec, caps: CgroupCaps): Envelope {
  return {
    // RLIMIT_NPROC counts every process of the real uid on the host, not the workspace's:
    // the workspace's nproc is the cgroup pids limit or the quota tick, never the rlimit.
    rlimits: { nofile: spec.rlimits.nofile, nproc: 0 },
    namespaces: { ...spec.namespaces, user: spec.namespaces.user && caps.userNamespaces },
    cgroup: null,
  };
}

export function warningsFor(spec: WorkspaceSpec, caps: CgroupCaps): string[] {
  const warnings: string[] = [];
  if (spec.cgroupPath !== '' && !caps.delegated) warnings.push(WARN_CGROUP);
  if (spec.namespaces.user && !caps.userNamespaces) warnings.push(WARN_USERNS);
  return warnings;
}

export function newWorkspace(
  id: string,
  spec: WorkspaceSpec,
  caps: CgroupCaps,
  createdAtWallMs: number,
): WorkspaceRec {
  return {
    id,
    spec,
    envelope: envelopeFor(spec, caps),
    createdAtWallMs,
    warnings: warningsFor(spec, caps),
    phase: { kind: 'running' },
    commandIds: [],
    usage: null,
    history: [],
    historySource: 'proc',
    rssPeakBytes: 0,
    oomKills: 0,
    breachKey: '',
    lastKilledCmd: '',
  };
}

/** Ask for the cgroup (when delegated) and arm the TTL; shared by create and restore. */
export function provisionWorkspace(d: Draft, ws: WorkspaceRec, ttlLeftMs: number): void {
  const caps = capsOf(d);
  if (ws.spec.cgroupPath !== '' && caps.delegated) {
    const limits = { memBytes: ws.spec.rlimits.memBytes, pids: ws.spec.rlimits.nproc };
    d.emit({ type: 'cgroup-create', wsId: ws.id, relPath: ws.spec.cgroupPath, limits });
  }
  if (ws.spec.ttlMs > 0) d.armTimer({ kind: 'ttl', id: ws.id }, d.nowMs + Math.max(0, ttlLeftMs));
}

export function onWorkspaceCreate(d: Draft, e: Ev<'workspace-create'>): void {
  if (d.state.workspaces.has(e.id)) throw new Error(`engine: workspace id ${e.id} reused`);
  const label = e.spec.label;
  if (label === '') {
    d.refuse({ code: 'invalid', field: 'label', message: 'label must not be empty' });
    return;
  }
  if (resolveWorkspace(d.state, label)) {
    d.refuse({ code: 'conflict', message: `workspace "${label}" already exists` });
    return;
  }
  const issue = checkCgroupPath(e.spec.cgroupPath);
  if (issue) {
    d.refuse({ code: 'invalid', field: issue.path, message: issue.message });
    return;
  }
  const ws = newWorkspace(e.id, e.spec, capsOf(d), e.wallMs);
  d.put('workspaces', ws);
  d.writeThrough();
  d.event('workspace-create', { ws: ws.id, label, warnings: ws.warnings.length });
  provisionWorkspace(d, ws, e.spec.ttlMs);
}

export type StopReason = 'operator' | 'ttl' | 'quota';

/** What can happen to a workspace, once it exists. */
export type WorkspaceInput =
  | { type: 'stop'; graceMs: number; reason: StopReason }
  | { type: 'stop-grace-timer' }
  | { type: 'ttl-timer' }
  /** One of its processes was reaped. */
  | { type: 'reaped' }
  /** Raised after its commands and pipelines were quiesced. */
  | { type: 'stop-proceed'; graceMs: number }
  | { type: 'cgroup-created'; handle: string }
  | { type: 'cgroup-failed'; error: PortError };

export function deliverWorkspace(d: Draft, wsId: string, input: WorkspaceInput): void {
  const ws = workspaceOf(d.state, wsId);
  const name = `workspace "${ws.spec.label}"`;
  dispatch(d, WORKSPACE_TABLE, ws.phase.kind, ws, input, { name });
}

export function onCgroupCreated(d: Draft, e: Ev<'cgroup-created'>): void {
  if (!d.state.workspaces.has(e.wsId)) {
    d.emit({ type: 'cgroup-remove', handle: e.handle, attempt: 1 });
    return;
  }
  deliverWorkspace(d, e.wsId, { type: 'cgroup-created', handle: e.handle });
}

export function onCgroupFailed(d: Draft, e: Ev<'cgroup-failed'>): void {
  if (!d.state.workspaces.has(e.wsId)) return;
  deliverWorkspace(d, e.wsId, { type: 'cgroup-failed', error: e.error });
}

function cgroupCreated(d: Draft, ws: WorkspaceRec, e: { handle: string }): void {
  d.put('workspaces', { ...ws, envelope: { ...ws.envelope, cgroup: e.handle } });
}

function cgroupFailed(d: Draft, ws: WorkspaceRec, e: { error: PortError }): void {
  const warning = `cgroup create failed (${e.error.message}): limits are accounted, not enforced`;
  d.put('workspaces', { ...ws, warnings: [...ws.warnings, warning] });
  d.event('cgroup-failed', { ws: ws.id, reason: e.error.reason, message: e.error.message });
  d.markDirty();
}

export function onWorkspaceStop(d: Draft, e: Ev<'workspace-stop'>): void {
  const ws = resolveWorkspace(d.state, e.ref);
  if (!ws) {
    d.refuse({ code: 'not_found', message: `no workspace "${e.ref}"` });
    return;
  }
  if (refusedGrace(d, e.graceMs)) return;
  deliverWorkspace(d, ws.id, { type: 'stop', graceMs: e.graceMs, reason: e.reason });
}

function beginStop(d: Draft, ws: WorkspaceRec, e: { graceMs: number; reason: StopReason }) {
  const stop: StopState = { graceMs: e.graceMs, reaped: 0, killed: false };
  d.put('workspaces', { ...ws, phase: { kind: 'stopping', stop } });
  if (e.reason === 'operator') d.writeThrough();
  else d.markDirty();
  d.cancelTimer({ kind: 'ttl', id: ws.id });
  const fields = { ws: ws.id, label: ws.spec.label, grace_ms: e.graceMs, reason: e.reason };
  d.event('workspace-stop', fields);
  // No restart may happen in a stopping workspace: its commands and pipelines stop first.
  for (const cmd of commandsOf(d.state, ws.id)) d.raise({ type: 'command-quiesce', cmdId: cmd.id });
  for (const p of pipelinesOf(d.state, ws.id)) d.raise({ type: 'pipeline-quiesce', id: p.id });
  d.raise({ type: 'workspace-stop-proceed', wsId: ws.id, graceMs: e.graceMs });
}

function proceedStop(d: Draft, ws: WorkspaceRec, e: { graceMs: number }): void {
  const pids = livePids(d.state, ws.id);
  if (pids.length === 0) {
    finishWorkspaceStop(d, ws.id);
    return;
  }
  if (e.graceMs === 0) {
    killWorkspace(d, ws.id);
    return;
  }
  // on_exit = "wait": let the commands finish by themselves within the grace, then KILL.
  if (ws.spec.onExit === 'reap') {
    for (const pid of pids) d.emit({ type: 'signal', pid, signal: 'SIGTERM' });
  }
  d.armTimer({ kind: 'stop-grace', id: ws.id }, d.nowMs + e.graceMs);
}

function stopAgain(d: Draft, ws: WorkspaceRec, e: { graceMs: number }): void {
  shortenGrace(d, { kind: 'stop-grace', id: ws.id }, e.graceMs, () => killWorkspace(d, ws.id));
}

function stopOf(ws: WorkspaceRec): StopState {
  if (ws.phase.kind !== 'stopping') throw new Error(`workspace ${ws.id} is not stopping`);
  return ws.phase.stop;
}

function killWorkspace(d: Draft, wsId: string): void {
  const ws = workspaceOf(d.state, wsId);
  const stop = stopOf(ws);
  for (const pid of livePids(d.state, wsId)) d.emit({ type: 'signal', pid, signal: 'SIGKILL' });
  if (ws.envelope.cgroup) d.emit({ type: 'cgroup-kill', handle: ws.envelope.cgroup, attempt: 1 });
  d.put('workspaces', { ...ws, phase: { kind: 'stopping', stop: { ...stop, killed: true } } });
  d.cancelTimer({ kind: 'stop-grace', id: wsId });
}

function onStopGrace(d: Draft, ws: WorkspaceRec): void {
  if (!stopOf(ws).killed) killWorkspace(d, ws.id);
}

function onTtl(d: Draft, ws: WorkspaceRec): void {
  d.event('ttl', { ws: ws.id, label: ws.spec.label, ttl_ms: ws.spec.ttlMs });
  beginStop(d, ws, { graceMs: 1000, reason: 'ttl' });
}

/** Count one reaped process; finish the stop when nothing of the workspace is left. */
function onReaped(d: Draft, ws: WorkspaceRec): void {
  const stop = stopOf(ws);
  const next = { ...stop, reaped: stop.reaped + 1 };
  d.put('workspaces', { ...ws, phase: { kind: 'stopping', stop: next } });
  if (livePids(d.state, ws.id).length === 0) finishWorkspaceStop(d, ws.id);
}

function finishWorkspaceStop(d: Draft, wsId: string): void {
  const ws = workspaceOf(d.state, wsId);
  if (livePids(d.state, wsId).length !== 0) throw new Error('finish: processes still alive');
  d.cancelTimer({ kind: 'stop-grace', id: wsId });
  for (const cmd of commandsOf(d.state, wsId)) {
    d.emit({ type: 'release', key: cmd.id });
    d.delete('commands', cmd.id);
  }
  for (const p of pipelinesOf(d.state, wsId)) {
    d.cancelTimer({ kind: 'pipeline-stop-grace', id: p.id });
    d.emit({ type: 'release', key: p.id });
    const reaped = p.phase.kind === 'stopping' ? p.phase.stop.reaped : 0;
    d.emit({ type: 'settle', kind: 'pipeline', id: p.id, reaped });
    d.delete('pipelines', p.id);
  }
  if (ws.envelope.cgroup) {
    // Grandchildren our pids left behind in the cgroup go with it.
    d.emit({ type: 'cgroup-kill', handle: ws.envelope.cgroup, attempt: 1 });
    d.emit({ type: 'cgroup-remove', handle: ws.envelope.cgroup, attempt: 1 });
  }
  d.delete('workspaces', wsId);
  const reaped = stopOf(ws).reaped;
  d.event('workspace-stopped', { ws: wsId, label: ws.spec.label, reaped });
  d.emit({ type: 'settle', kind: 'workspace', id: wsId, reaped });
}

type W<T extends WorkspaceInput['type']> = Cell<WorkspaceRec, Extract<WorkspaceInput, { type: T }>>;
type Row = { [T in WorkspaceInput['type']]: W<T> };

const CGROUP_RESULTS = { 'cgroup-created': cgroupCreated, 'cgroup-failed': cgroupFailed };

export const WORKSPACE_TABLE: Table<'running' | 'stopping', WorkspaceInput, WorkspaceRec> = {
  running: {
    stop: beginStop,
    'stop-grace-timer': 'ignore',
    'ttl-timer': onTtl,
    reaped: 'ignore',
    'stop-proceed': 'bug',
    ...CGROUP_RESULTS,
  } satisfies Row,
  stopping: {
    stop: stopAgain,
    'stop-grace-timer': onStopGrace,
    'ttl-timer': 'ignore',
    reaped: onReaped,
    'stop-proceed': proceedStop,
    ...CGROUP_RESULTS,
  } satisfies Row,
};
