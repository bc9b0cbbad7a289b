/**
 * Sampling, stats history, quota evaluation and enforcement, OOM reporting.
 *
 * When to sample (one `sample` timer, armed for the earliest workspace due, never while
 * nothing is alive, so an idle daemon has no periodic wakeup):
 * - the quota tick: a live workspace with an enforced limit (action log or kill, with or
 *   without a cgroup: `needsQuotaTick`) is sampled every `sampleEveryMs`, so a breach is
 *   acted on within one tick;
 * - the stats history: every other live workspace is sampled every `statsEveryMs` (0: no
 *   cadence, the daemon's default, so sleeping commands cost no wakeup), and on demand
 *   when `stats` or `quota` is asked and its last sample is older than `sampleEveryMs`.
 *   The history (sparklines) grows from both, at most one point per `sampleEveryMs`.
 *   A cgroup's OOM kills are sampled on the SIGKILL they cause.
 * - a sample only dirties derived data: with a slow history cadence the snapshot takes it
 *   within about a minute, written by a tick (one wakeup for both), else `saveDelayMs`
 *   later.
 */

import { needsQuotaTick } from '../policy/index.js';
import type { StatsSample } from './api.js';
import type { Draft } from './draft.js';
import { anythingAlive, hasLivePid, livePids } from './live.js';
import {
  type Effect,
  type EngineEvent,
  type EngineOptions,
  type EngineState,
  STATS_HISTORY_MAX,
  type Usage,
  type WorkspaceRec,
} from './model.js';

type Ev<T extends EngineEvent['type']> = Extract<EngineEvent, { type: T }>;

const statsEveryMsOf = (o: EngineOptions): number => o.statsEveryMs ?? o.sampleEveryMs;
/** `statsEveryMs` 0: the history grows from on-demand samples only. */
const historyCadence = (o: EngineOptions): boolean => statsEveryMsOf(o) > 0;

/** Is this workspace on the quota tick (rather than the slower stats cadence)? */
export function onQuotaTick(ws: WorkspaceRec): boolean {
  const { rlimits, quotaEnforce } = ws.spec;
  const limits = { memBytes: rlimits.memBytes, nproc: rlimits.nproc };
  return needsQuotaTick(limits, quotaEnforce);
}

/** When a live workspace is next due (null: on demand only), `sampledAtMs` its last sample. */
function dueAtMs(state: EngineState, ws: WorkspaceRec, nowMs: number, sampledAtMs?: number) {
  const { sampleEveryMs } = state.options;
  const soonest = nowMs + sampleEveryMs;
  if (onQuotaTick(ws)) return soonest;
  if (!historyCadence(state.options)) return null;
  const lastMs = sampledAtMs ?? ws.usage?.atMs ?? nowMs;
  return Math.max(soonest, lastMs + statsEveryMsOf(state.options));
}

/** The earliest due time over live workspaces; null when nothing is alive. */
function nextSampleAtMs(d: Draft, sampledNow: ReadonlySet<string>): number | null {
  if (!anythingAlive(d.state)) return null;
  let next: number | null = null;
  for (const ws of d.state.workspaces.values()) {
    if (!hasLivePid(d.state, ws.id)) continue;
    const sampledAtMs = sampledNow.has(ws.id) ? d.nowMs : undefined;
    const atMs = dueAtMs(d.state, ws, d.nowMs, sampledAtMs);
    if (atMs !== null && (next === null || atMs < next)) next = atMs;
  }
  return next;
}

/** Something started: make sure the sample timer fires by the time anything is due. */
export function ensureSampling(d: Draft): void {
  const atMs = nextSampleAtMs(d, new Set());
  const armedAtMs = d.timerAt({ kind: 'sample' });
  if (atMs === null || (armedAtMs !== undefined && armedAtMs <= atMs)) return;
  d.armTimer({ kind: 'sample' }, atMs);
}

function isDue(d: Draft, ws: WorkspaceRec): boolean {
  if (onQuotaTick(ws)) return true;
  if (!historyCadence(d.state.options)) return false;
  if (!ws.usage) return true;
  return d.nowMs - ws.usage.atMs >= statsEveryMsOf(d.state.options);
}

export function onSampleTimer(d: Draft): void {
  if (slowCadence(d.state.options)) saveRidingAlong(d);
  const due: Extract<Effect, { type: 'sample' }>[] = [];
  for (const ws of d.state.workspaces.values()) {
    const pids = livePids(d.state, ws.id);
    if (pids.length === 0 || !isDue(d, ws)) continue;
    due.push({ type: 'sample', wsId: ws.id, pids, cgroup: ws.envelope.cgroup, atMs: d.nowMs });
  }
  // The timer just fired: arm it for the next due workspace (every quota-tick workspace
  // was sampled now; an on-demand sample since only makes the next firing find less due).
  // Armed before the samples are read, so the real timer is timed from the wakeup.
  const atMs = nextSampleAtMs(d, new Set(due.map((e) => e.wsId)));
  if (atMs !== null) d.armTimer({ kind: 'sample' }, atMs);
  for (const effect of due) d.emit(effect);
}

/** A save due before the next tick is written by this tick: one wakeup, not two. */
function saveRidingAlong(d: Draft): void {
  const saveAtMs = d.timerAt({ kind: 'save' });
  if (!d.state.dirty || saveAtMs === undefined) return;
  if (saveAtMs - d.nowMs > statsEveryMsOf(d.state.options)) return;
  d.cancelTimer({ kind: 'save' });
  d.state = { ...d.state, dirty: false };
  d.emit({ type: 'write-snapshot', sync: false });
}

/** `stats`/`quota` asked: a fresh sample unless the last one is under one tick old. */
export function onStatsRequested(d: Draft, e: Ev<'stats-requested'>): void {
  const ws = d.state.workspaces.get(e.wsId);
  if (!ws) return;
  const pids = livePids(d.state, ws.id);
  if (pids.length === 0) return;
  if (ws.usage && d.nowMs - ws.usage.atMs < d.state.options.sampleEveryMs) return;
  d.emit({ type: 'sample', wsId: ws.id, pids, cgroup: ws.envelope.cgroup, atMs: d.nowMs });
}

const slowCadence = (o: EngineOptions): boolean =>
  !historyCadence(o) || statsEveryMsOf(o) > o.sampleEveryMs;

/** With a slow cadence, stats-only changes are saved about once a minute (see below). */
export const STATS_SAVE_EVERY_MS_SLOW = 60_000;

/**
 * Stats-only dirt: with a slow history cadence, saved at most about once a minute by the
 * tick before it is due (a durable write costs fsync waits; a crash loses at most that
 * minute of history, a graceful stop none), else after saveDelayMs.
 */
function statsSaveDelayMs(o: EngineOptions): number {
  if (!slowCadence(o)) return o.saveDelayMs;
  return Math.max(o.saveDelayMs, STATS_SAVE_EVERY_MS_SLOW, statsEveryMsOf(o) + 1);
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
    atMs: e.atMs,
  };
  const point: StatsSample = {
    wallMs: e.wallMs,
    rssBytes: s.memBytes,
    cpuUs: s.cpuUs,
    cpuPermille: cpuPermille(ws.usage, s.cpuUs, e.atMs),
  };
  // The newest STATS_HISTORY_MAX samples, copied once (a sample arrives every tick).
  const history = ws.history.slice(Math.max(0, ws.history.length - (STATS_HISTORY_MAX - 1)));
  history.push(point);
  const rssPeakBytes = Math.max(ws.rssPeakBytes, s.memPeakBytes, s.memBytes);
  const next: WorkspaceRec = { ...ws, usage, history, historySource: s.source, rssPeakBytes };
  d.put('workspaces', next);
  if (s.source === 'cgroup' && s.oomKills > ws.oomKills) reportOom(d, next, s.oomKills);
  // Timed from the request, so a slow-cadence save lands on the next tick's instant.
  d.markDirty(Math.max(0, e.atMs + statsSaveDelayMs(d.state.options) - d.nowMs));
  if (ws.phase.kind === 'running' && hasLivePid(d.state, ws.id)) enforceQuota(d, ws.id);
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
    d.raise({ type: 'workspace-stop', ref: ws.id, graceMs: 0, reason: 'quota' });
    return;
  }
  if (verdict.action === 'log' && changed) d.event('quota-breach', fields);
}
