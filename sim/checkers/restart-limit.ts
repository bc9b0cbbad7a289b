/**
 * Restart-limit checker: never more than restart_max consecutive restarts (so at most
 * restart_max + 1 starts between resets), and no restart once more than crash_loop_max
 * failures fall inside the crash-loop window. Counts are per daemon generation and reset
 * by an operator restart or a run that outlived reset_after.
 */

import { isFailedIncarnation, type RestartObservation } from '../timeline.js';
import type { CheckContext, Checker } from './types.js';
import { firstRestartViolation, operatorRestartBetween, resetAfterMsOf } from './types.js';

interface Tally {
  restarts: number;
  deathsMs: number[];
}

export class RestartLimitChecker implements Checker {
  readonly name = 'restart-limit' as const;
  private readonly tallies = new Map<string, Tally>();

  check(ctx: CheckContext): string | null {
    return firstRestartViolation(ctx, (obs) => this.observe(ctx, obs));
  }

  private observe(ctx: CheckContext, obs: RestartObservation): string | null {
    const fact = ctx.model.keys.get(obs.key);
    if (fact === undefined || !fact.supervised) return null;
    const id = `${obs.gen}/${obs.key}`;
    const tally = this.tallies.get(id) ?? { restarts: 0, deathsMs: [] };
    this.tallies.set(id, tally);
    const { prev } = obs;
    if (operatorRestartBetween(fact, prev.seq, obs.next.seq)) {
      tally.restarts = 0;
      tally.deathsMs = [];
      return null;
    }
    // restart = "always": a clean exit is decided like a failure.
    const failed = isFailedIncarnation(prev) || fact.always;
    if (!failed || prev.endMs === null) return null;
    if (prev.endMs - prev.startMs >= resetAfterMsOf(fact.policy)) tally.restarts = 0;
    const { restartMax } = fact.policy;
    if (restartMax > 0 && tally.restarts >= restartMax) {
      return (
        `${fact.kind} ${obs.key}: restart #${tally.restarts + 1} at t=${obs.next.startMs} ` +
        `exceeds restart_max=${restartMax} (${obs.history.length} starts in this daemon)`
      );
    }
    tally.restarts += 1;
    const { deathsMax, windowMs } = fact.crashLoop;
    tally.deathsMs = tally.deathsMs.filter((t) => t > prev.endMs! - windowMs);
    tally.deathsMs.push(prev.endMs);
    if (deathsMax > 0 && tally.deathsMs.length > deathsMax) {
      return (
        `${fact.kind} ${obs.key}: restarted at t=${obs.next.startMs} after ` +
        `${tally.deathsMs.length} failures within ${windowMs} ms (crash_loop_max=${deathsMax}): ` +
        `deaths at ${tally.deathsMs.join(',')}`
      );
    }
    return null;
  }
}
