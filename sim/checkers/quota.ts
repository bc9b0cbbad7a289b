/**
 * Quota checker: with `quota_enforce = kill`, a workspace whose real usage (RSS summed
 * over its processes, or processes alive) stays over its limit is stopped within one
 * enforcement tick (`sampleEveryMs`) of the breach first being visible. And the other
 * way round, exactly: a `quota-kill` names only resources whose real usage at that
 * instant was over the limit — usage equal to the limit is not a breach (contract §1).
 */

import type { WsFact } from '../model.js';
import type { CheckContext, Checker } from './types.js';

const QUOTA_SLACK_MS = 5;

interface Usage {
  memBytes: number;
  procs: number;
}

const NO_USAGE: Readonly<Usage> = { memBytes: 0, procs: 0 };

export class QuotaChecker implements Checker {
  readonly name = 'quota' as const;
  /** When each workspace's breach was first seen (by workspace id), memory and processes. */
  private readonly since = { mem: new Map<string, number>(), nproc: new Map<string, number>() };
  /** Usage per watched workspace, zeroed and filled again at each step (kept: no garbage). */
  private readonly usage = new Map<string, Usage>();
  private cursor = 0;
  /** Workspace of each command, pipeline and worker key, as the engine's events name it. */
  private readonly wsOfKey = new Map<string, string>();

  check(ctx: CheckContext): string | null {
    return this.kills(ctx) ?? this.enforced(ctx);
  }

  /** A new daemon sees a breach first at its own start: its first tick is one tick later. */
  afterRestore(): string | null {
    this.since.mem.clear();
    this.since.nproc.clear();
    return null;
  }

  /** Every `quota-kill` of the engine against the kernel's usage at that instant. */
  private kills(ctx: CheckContext): string | null {
    const events = ctx.world.eventLog.events;
    for (; this.cursor < events.length; this.cursor++) {
      const e = events[this.cursor]!;
      const key = e.fields.cmd ?? e.fields.pipeline;
      if (key !== undefined && e.fields.ws !== undefined) {
        this.wsOfKey.set(String(key), String(e.fields.ws));
      }
      // A worker's task runs in its workspace (and its cgroup) under the key `worker-<name>`.
      if (e.ev === 'worker-create' && e.fields.ws !== undefined) {
        this.wsOfKey.set(`worker-${e.fields.worker}`, String(e.fields.ws));
      }
      if (e.ev !== 'quota-kill') continue;
      const ws = ctx.model.wsById.get(String(e.fields.ws));
      if (ws === undefined) continue;
      const used = usageAt(ctx, (k) => this.wsOfKey.get(k) === ws.id, e.gen, e.atMs);
      const breach = String(e.fields.breach);
      const { memBytes, nproc } = ws.spec.rlimits;
      const memOver = used.memBytes > memBytes && memBytes > 0;
      const nprocOver = used.procs > nproc && nproc > 0;
      if ((breach.includes('memory:') && !memOver) || (breach.includes('nproc:') && !nprocOver)) {
        return (
          `workspace ${ws.id} quota-killed at t=${e.atMs} for "${breach}", but its usage then ` +
          `was ${used.memBytes} bytes (limit ${memBytes}) and ${used.procs} processes ` +
          `(limit ${nproc}): not over the limit`
        );
      }
      ctx.cover('exact quota kills');
    }
    return null;
  }

  private enforced(ctx: CheckContext): string | null {
    // Only a limit enforced by `kill` has a deadline: most steps have none to look at.
    if (!ctx.model.workspaces.some(killsOnBreach)) return null;
    const usage = this.usage;
    for (const u of usage.values()) {
      u.memBytes = 0;
      u.procs = 0;
    }
    for (const p of ctx.world.kernel.live) {
      const fact = ctx.model.keys.get(p.key);
      if (fact === undefined || p.gen !== ctx.gen) continue;
      const ws = ctx.model.wsById.get(fact.wsId);
      if (ws === undefined || !killsOnBreach(ws)) continue;
      let u = usage.get(fact.wsId);
      if (u === undefined) {
        u = { memBytes: 0, procs: 0 };
        usage.set(fact.wsId, u);
      }
      u.memBytes += ctx.world.kernel.rssBytes(p);
      u.procs += 1;
    }
    for (const ws of ctx.model.workspaces) {
      if (!killsOnBreach(ws)) continue;
      const u = usage.get(ws.id) ?? NO_USAGE;
      const message =
        this.breach(ctx, ws, 'mem', u.memBytes, ws.spec.rlimits.memBytes) ??
        this.breach(ctx, ws, 'nproc', u.procs, ws.spec.rlimits.nproc);
      if (message !== null) return message;
    }
    return null;
  }

  private breach(
    ctx: CheckContext,
    ws: WsFact,
    what: 'mem' | 'nproc',
    used: number,
    limit: number,
  ): string | null {
    const since = this.since[what];
    const enforce = what === 'mem' ? ws.spec.quotaEnforce.mem : ws.spec.quotaEnforce.nproc;
    if (limit === 0 || enforce !== 'kill' || used <= limit || ws.stopAtMs !== null) {
      if (since.delete(ws.id) && used === 0) ctx.cover('quota kills');
      return null;
    }
    const sinceMs = since.get(ws.id) ?? ctx.nowMs;
    since.set(ws.id, sinceMs);
    if (ctx.nowMs - sinceMs <= ctx.sampleEveryMs + QUOTA_SLACK_MS) return null;
    return (
      `workspace ${ws.id}: ${what} ${used} > limit ${limit} with quota_enforce=kill since ` +
      `t=${sinceMs}, still not enforced at t=${ctx.nowMs} (tick ${ctx.sampleEveryMs} ms)`
    );
  }
}

/**
 * A workspace's usage at `atMs` from the kernel's process records: RSS and count of its
 * processes alive then. A process that died at that very instant counts (it may have been
 * the kill's own victim), so this can only overstate the usage the engine sampled.
 */
function usageAt(
  ctx: CheckContext,
  ofWorkspace: (key: string) => boolean,
  gen: number,
  atMs: number,
): { memBytes: number; procs: number } {
  let memBytes = 0;
  let procs = 0;
  for (const p of ctx.world.kernel.procs.values()) {
    if (p.gen !== gen || p.startMs > atMs || (p.diedAtMs !== null && p.diedAtMs < atMs)) continue;
    if (!ofWorkspace(p.key)) continue;
    memBytes += p.script.rssBytes + p.script.growBytesPerMs * (atMs - p.startMs);
    procs += 1;
  }
  return { memBytes, procs };
}

function killsOnBreach(ws: WsFact): boolean {
  const { rlimits, quotaEnforce } = ws.spec;
  return (
    (rlimits.memBytes > 0 && quotaEnforce.mem === 'kill') ||
    (rlimits.nproc > 0 && quotaEnforce.nproc === 'kill')
  );
}
