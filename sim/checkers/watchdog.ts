/**
 * Watchdog checker: a command with `watchdog_ms` that has not sent WATCHDOG=1 for that
 * long (since start-up completed, at exec or at READY=1, or since its last ping) is
 * killed: no such process stays alive past the deadline. A stop (operator, TTL, quota)
 * or an operator restart under way takes over.
 */

import { type CheckContext, type Checker, operatorRestartSince } from './types.js';
import { viewsOf } from './views.js';

const WATCHDOG_SLACK_MS = 5;

export class WatchdogChecker implements Checker {
  readonly name = 'watchdog' as const;

  check(ctx: CheckContext): string | null {
    for (const p of ctx.world.kernel.live) {
      if (p.rootPid !== p.pid || p.gen !== ctx.gen) continue;
      const fact = ctx.model.keys.get(p.key);
      if (fact === undefined || fact.watchdogMs === 0) continue;
      if (ctx.model.stopOf(fact, ctx.gen) !== null) continue;
      // A TTL or quota stop under way: the stop and TTL checkers own the deadline.
      if (viewsOf(ctx).workspace(fact.wsId)?.state !== 'running') continue;
      const spawnSeq = ctx.timeline.incarnationOf(p.pid)?.seq ?? 0;
      if (operatorRestartSince(fact, spawnSeq)) continue;
      // As systemd: the watchdog runs once start-up is complete (exec, or READY=1).
      const startedMs = fact.readyNotify ? p.readyAtMs : p.startMs;
      if (startedMs === null) continue;
      const lastMs = Math.max(startedMs, p.lastPingMs ?? 0);
      if (ctx.nowMs > lastMs + fact.watchdogMs + WATCHDOG_SLACK_MS) {
        return (
          `command ${p.key} pid ${p.pid}: no WATCHDOG=1 since t=${lastMs} ` +
          `(watchdog_ms ${fact.watchdogMs}), still alive at t=${ctx.nowMs}`
        );
      }
    }
    return null;
  }
}
