/**
 * TTL checker: a workspace with a TTL is stopped when it expires, the same way as an
 * operator stop with the default grace (1000 ms): once TTL + grace has passed, none of its
 * processes is alive. A restored workspace keeps its expiry (from its creation time); one
 * that expired while the daemon was down is stopped at restore.
 */

import { STOP_SLACK_MS } from './stop.js';
import type { CheckContext, Checker } from './types.js';

export const STOP_GRACE_MS_DEFAULT = 1000;

export class TtlChecker implements Checker {
  readonly name = 'ttl' as const;

  check(ctx: CheckContext): string | null {
    for (const p of ctx.world.kernel.live) {
      const fact = ctx.model.keys.get(p.key);
      const ws = fact === undefined ? undefined : ctx.model.wsById.get(fact.wsId);
      if (ws === undefined || ws.spec.ttlMs === 0 || p.gen !== ctx.gen) continue;
      // A restored workspace keeps its original expiry; one already past expires at restore.
      const restoredAtMs = ws.gen === ctx.gen ? 0 : ctx.genStartedAtMs;
      const expiresMs = Math.max(ws.createdAtMs + ws.spec.ttlMs, restoredAtMs);
      let deadlineMs = expiresMs + STOP_GRACE_MS_DEFAULT + STOP_SLACK_MS;
      // An operator stop already under way when the TTL expires keeps its own grace.
      if (ws.stopAtMs !== null && ws.stopGen === ctx.gen && ws.stopAtMs <= expiresMs) {
        deadlineMs = Math.max(deadlineMs, ws.stopAtMs + ws.stopGraceMs + STOP_SLACK_MS);
      }
      if (ctx.nowMs >= deadlineMs) {
        return (
          `workspace ${ws.id} (ttl ${ws.spec.ttlMs} ms, created t=${ws.createdAtMs}): ` +
          `pid ${p.pid} (${p.exec}) still alive at t=${ctx.nowMs}`
        );
      }
    }
    return null;
  }
}
