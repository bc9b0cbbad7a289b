/** Workspace handlers: create, stop (TERM → grace → KILL), TTL, cgroup results. */

import { checkCgroupPath } from '../manifest/index.js';
import type { WorkspaceSpec } from '../manifest/types.js';
import type { CgroupCaps, Envelope } from '../ports.js';
import { evictDead } from './command.js';
import { type Draft, resolveWorkspace, workspaceOf } from './draft.js';
import { commandsOf, livePids, pipelinesOf } from './live.js';
import type { EngineEvent, WorkspaceRec } from './model.js';

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
    state: 'running',
    stop: null,
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
  if (ws.spec.ttlMs > 0) d.armTimer(`ttl:${ws.id}`, d.nowMs + Math.max(0, ttlLeftMs));
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

export function onCgroupCreated(d: Draft, e: Ev<'cgroup-created'>): void {
  const ws = d.state.workspaces.get(e.wsId);
  if (!ws) {
    d.emit({ type: 'cgroup-remove', handle: e.handle });
    return;
  }
  d.put('workspaces', { ...ws, envelope: { ...ws.envelope, cgroup: e.handle } });
}

export function onCgroupFailed(d: Draft, e: Ev<'cgroup-failed'>): void {
  const ws = d.state.workspaces.get(e.wsId);
  if (!ws) return;
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
  if (ws.state === 'stopping') {
    shortenGrace(d, `stop-grace:${ws.id}`, e.graceMs, () => killWorkspace(d, ws.id));
    return;
  }
  d.put('workspaces', {
    ...ws,
    state: 'stopping',
    stop: { graceMs: e.graceMs, reaped: 0, killed: false },
  });
  if (e.reason === 'operator') d.writeThrough();
  else d.markDirty();
  d.cancelTimer(`ttl:${ws.id}`);
  d.event('workspace-stop', {
    ws: ws.id,
    label: ws.spec.label,
    grace_ms: e.graceMs,
    reason: e.reason,
  });
  quiesceWorkspace(d, ws.id);
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
  d.armTimer(`stop-grace:${ws.id}`, d.nowMs + e.graceMs);
}

/** A second stop with a shorter grace brings the SIGKILL forward; a longer one changes nothing. */
/** Refuses a grace that is not a non-negative integer of ms; true when it did. */
export function refusedGrace(d: Draft, graceMs: number): boolean {
  if (Number.isInteger(graceMs) && graceMs >= 0) return false;
  const message = `grace must be a non-negative integer of ms, got ${graceMs}`;
  d.refuse({ code: 'invalid', field: 'grace', message });
  return true;
}

export function shortenGrace(d: Draft, key: string, graceMs: number, kill: () => void): void {
  const armedAtMs = d.state.timers.get(key);
  if (armedAtMs === undefined) return; // already killed (or nothing left to wait for)
  if (graceMs === 0) kill();
  else if (d.nowMs + graceMs < armedAtMs) d.armTimer(key, d.nowMs + graceMs);
}

/** No restart may happen in a stopping workspace: mark commands and pipelines stopping. */
function quiesceWorkspace(d: Draft, wsId: string): void {
  for (const cmd of commandsOf(d.state, wsId)) {
    d.cancelTimer(`restart:${cmd.id}`);
    d.cancelTimer(`watchdog:${cmd.id}`);
    d.cancelTimer(`kill:${cmd.id}`);
    const state = cmd.state === 'backoff' ? 'exited' : cmd.state;
    d.put('commands', { ...cmd, stopping: true, respawn: false, state });
  }
  evictDead(d, wsId); // commands that were waiting in backoff are dead records now
  for (const p of pipelinesOf(d.state, wsId)) {
    d.cancelTimer(`prestart:${p.id}`);
    const state = p.state === 'backoff' ? 'stopped' : p.state;
    d.put('pipelines', { ...p, state, stop: p.stop ?? { graceMs: 0, reaped: 0, killed: false } });
  }
}

export function killWorkspace(d: Draft, wsId: string): void {
  const ws = workspaceOf(d.state, wsId);
  if (!ws.stop) throw new Error('killWorkspace: only a stopping workspace is killed');
  for (const pid of livePids(d.state, wsId)) d.emit({ type: 'signal', pid, signal: 'SIGKILL' });
  if (ws.envelope.cgroup) d.emit({ type: 'cgroup-kill', handle: ws.envelope.cgroup });
  d.put('workspaces', { ...ws, stop: { ...ws.stop, killed: true } });
  d.cancelTimer(`stop-grace:${wsId}`);
}

export function onStopGrace(d: Draft, wsId: string): void {
  const ws = d.state.workspaces.get(wsId);
  if (ws?.state === 'stopping' && ws.stop && !ws.stop.killed) killWorkspace(d, wsId);
}

export function onTtl(d: Draft, wsId: string): void {
  const ws = d.state.workspaces.get(wsId);
  if (ws?.state !== 'running') return;
  d.event('ttl', { ws: ws.id, label: ws.spec.label, ttl_ms: ws.spec.ttlMs });
  onWorkspaceStop(d, { type: 'workspace-stop', ref: ws.id, graceMs: 1000, reason: 'ttl' });
}

/** Count one reaped process; finish the stop when nothing of the workspace is left. */
export function noteWorkspaceDeath(d: Draft, wsId: string): void {
  const ws = d.state.workspaces.get(wsId);
  if (ws?.state !== 'stopping' || !ws.stop) return;
  d.put('workspaces', { ...ws, stop: { ...ws.stop, reaped: ws.stop.reaped + 1 } });
  if (livePids(d.state, wsId).length === 0) finishWorkspaceStop(d, wsId);
}

export function finishWorkspaceStop(d: Draft, wsId: string): void {
  const ws = workspaceOf(d.state, wsId);
  if (livePids(d.state, wsId).length !== 0) throw new Error('finish: processes still alive');
  d.cancelTimer(`stop-grace:${wsId}`);
  for (const cmd of commandsOf(d.state, wsId)) {
    d.emit({ type: 'release', key: cmd.id });
    d.delete('commands', cmd.id);
  }
  for (const p of pipelinesOf(d.state, wsId)) {
    d.cancelTimer(`pstop-grace:${p.id}`);
    d.emit({ type: 'release', key: p.id });
    d.emit({ type: 'settle', kind: 'pipeline', id: p.id, reaped: p.stop?.reaped ?? 0 });
    d.delete('pipelines', p.id);
  }
  if (ws.envelope.cgroup) {
    // Grandchildren our pids left behind in the cgroup go with it.
    d.emit({ type: 'cgroup-kill', handle: ws.envelope.cgroup });
    d.emit({ type: 'cgroup-remove', handle: ws.envelope.cgroup });
  }
  d.delete('workspaces', wsId);
  const reaped = ws.stop?.reaped ?? 0;
  d.event('workspace-stopped', { ws: wsId, label: ws.spec.label, reaped });
  d.emit({ type: 'settle', kind: 'workspace', id: wsId, reaped });
}
