/**
 * Quota checker: with `quota_enforce = kill`, a workspace whose real usage (RSS summed
 * over its processes, or processes alive) stays over its limit is stopped within one
 * enforcement tick (`sampleEveryMs`) of the breach first being visible.
 */

import type { WsFact } from '../model.js';
import type { CheckContext, Checker } from './types.js';

const QUOTA_SLACK_MS = 5;

export class QuotaChecker implements Checker {
  readonly name = 'quota' as const;
  private readonly since = new Map<string, number>();

  check(ctx: CheckContext): string | null {
    const usage = new Map<string, { memBytes: number; procs: number }>();
    for (const p of ctx.world.kernel.live) {
      const fact = ctx.model.keys.get(p.key);
      if (fact === undefined || p.gen !== ctx.gen) continue;
      const u = usage.get(fact.wsId) ?? { memBytes: 0, procs: 0 };
      u.memBytes += ctx.world.kernel.rssBytes(p);
      u.procs += 1;
      usage.set(fact.wsId, u);
    }
    for (const ws of ctx.model.workspaces) {
      const u = usage.get(ws.id) ?? { memBytes: 0, procs: 0 };
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
    const key = `${ws.id}/${what}`;
    const enforce = what === 'mem' ? ws.spec.quotaEnforce.mem : ws.spec.quotaEnforce.nproc;
    if (limit === 0 || enforce !== 'kill' || used <= limit || ws.stopAtMs !== null) {
      if (this.since.delete(key) && used === 0) ctx.cover('quota kills');
      return null;
    }
    const sinceMs = this.since.get(key) ?? ctx.nowMs;
    this.since.set(key, sinceMs);
    if (ctx.nowMs - sinceMs <= ctx.sampleEveryMs + QUOTA_SLACK_MS) return null;
    return (
      `workspace ${ws.id}: ${what} ${used} > limit ${limit} with quota_enforce=kill since ` +
      `t=${sinceMs}, still not enforced at t=${ctx.nowMs} (tick ${ctx.sampleEveryMs} ms)`
    );
  }
}
