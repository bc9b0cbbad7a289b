/** Sampling, stats history, quota evaluation and enforcement, OOM reporting. */

import type { StatsSample } from './api.js';
import type { Draft } from './draft.js';
import { anythingAlive, livePids } from './live.js';
import { type EngineEvent, STATS_HISTORY_MAX, type Usage, type WorkspaceRec } from './model.js';
import { onWorkspaceStop } from './workspace.js';

type Ev<T extends EngineEvent['type']> = Extract<EngineEvent, { type: T }>;

/** Keep one sample timer armed while any process is alive. */
export function ensureSampling(d: Draft): void {
  if (d.state.timers.has('sample') || !anythingAlive(d.state)) return;
  d.armTimer('sample', d.nowMs + d.state.options.sampleEveryMs);
}

export function onSampleTimer(d: Draft): void {
  for (const ws of d.state.workspaces.values()) {
    const pids = livePids(d.state, ws.id);
    if (pids.length === 0) continue;
    d.emit({ type: 'sample', wsId: ws.id, pids, cgroup: ws.envelope.cgroup });
  }
  ensureSampling(d);
}

/** Integer per-mille of one core: µs of CPU per ms of wall time (1000 = one core). */
export function cpuPermille(prev: Usage | null, cpuUs: number, nowMs: number): number {
  if (!prev) return 0;
  const elapsedMs = nowMs - prev.atMs;
  if (elapsedMs <= 0) return 0;
  return Math.floor(Math.max(0, cpuUs - prev.cpuUs) / elapsedMs);
}

export function onStatsSampled(d: Draft, e: Ev<'stats-sampled'>): void {
  const ws = d.state.workspaces.get(e.wsId);
  if (!ws) return;
  const s = e.sample;
  const usage: Usage = {
    source: s.source,
    memBytes: s.memBytes,
    nprocAlive: s.alive,
    cpuUs: s.cpuUs,
    atMs: d.nowMs,
  };
  const point: StatsSample = {
    wallMs: e.wallMs,
    rssBytes: s.memBytes,
    cpuUs: s.cpuUs,
    cpuPermille: cpuPermille(ws.usage, s.cpuUs, d.nowMs),
  };
  const history = [...ws.history, point].slice(-STATS_HISTORY_MAX);
  const rssPeakBytes = Math.max(ws.rssPeakBytes, s.memPeakBytes, s.memBytes);
  const next: WorkspaceRec = { ...ws, usage, history, historySource: s.source, rssPeakBytes };
  d.put('workspaces', next);
  if (s.source === 'cgroup' && s.oomKills > ws.oomKills) reportOom(d, next, s.oomKills);
  d.markDirty();
  if (ws.state === 'running' && livePids(d.state, ws.id).length > 0) enforceQuota(d, ws.id);
}

function reportOom(d: Draft, ws: WorkspaceRec, oomKills: number): void {
  const fields = { ws: ws.id, label: ws.spec.label, cmd: ws.lastKilledCmd, oom_kills: oomKills };
  d.event('oom', fields);
  d.put('workspaces', { ...ws, oomKills });
}

function enforceQuota(d: Draft, wsId: string): void {
  const ws = d.state.workspaces.get(wsId);
  if (!ws?.usage) return;
  const limits = { memBytes: ws.spec.rlimits.memBytes, nproc: ws.spec.rlimits.nproc };
  const usage = { memBytes: ws.usage.memBytes, nprocAlive: ws.usage.nprocAlive };
  const verdict = d.policy.evaluateQuota(limits, usage, ws.spec.quotaEnforce);
  const key = verdict.kinds.join(',');
  const changed = key !== ws.breachKey;
  if (changed) d.put('workspaces', { ...ws, breachKey: key });
  if (verdict.breaches.length === 0) return;
  const fields = { ws: ws.id, label: ws.spec.label, breach: verdict.breaches.join('; ') };
  if (verdict.action === 'kill') {
    d.event('quota-kill', fields);
    onWorkspaceStop(d, { type: 'workspace-stop', ref: ws.id, graceMs: 0, reason: 'quota' });
    return;
  }
  if (verdict.action === 'log' && changed) d.event('quota-breach', fields);
}
