/**
 * Stop checker: once a workspace or pipeline stop is requested, nothing of it starts
 * again in that daemon, and once its grace has run out (plus a few ms for the kill to
 * land) no process of it is alive: SIGTERM, wait grace, SIGKILL.
 */

import type { CheckContext, Checker } from './types.js';

export const STOP_SLACK_MS = 5;

export class StopChecker implements Checker {
  readonly name = 'stop' as const;

  check(ctx: CheckContext): string | null {
    for (const s of ctx.spawns) {
      const fact = ctx.model.keys.get(s.key);
      if (fact === undefined || !s.ok) continue;
      const stop = ctx.model.stopOf(fact, s.gen);
      if (stop !== null && s.seq > stop.seq) {
        return (
          `${fact.kind} ${s.key} (workspace ${fact.wsId}) started pid ${s.pids.join(',')} at ` +
          `t=${s.atMs}, after its stop was requested at t=${stop.atMs}`
        );
      }
    }
    for (const p of ctx.world.kernel.live) {
      const fact = ctx.model.keys.get(p.key);
      if (fact === undefined || p.gen !== ctx.gen) continue;
      const stop = ctx.model.stopOf(fact, ctx.gen);
      if (stop === null) continue;
      const deadlineMs = stop.atMs + stop.graceMs + STOP_SLACK_MS;
      if (ctx.nowMs >= deadlineMs) {
        return (
          `pid ${p.pid} (${p.exec}, ${fact.kind} ${p.key}) still alive at t=${ctx.nowMs}: ` +
          `stop requested at t=${stop.atMs} with grace ${stop.graceMs} ms`
        );
      }
    }
    return null;
  }
}
