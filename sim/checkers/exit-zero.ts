/**
 * Exit-zero checker: only a failure restarts. A command whose last incarnation exited 0,
 * a pipeline whose nodes all exited 0, and anything unsupervised is never started again
 * by the daemon (an operator restart is exempt; restart = "always" restarts a clean exit
 * too), and nothing restarts before the death of every process of the previous
 * incarnation has been reported.
 */

import { isFailedIncarnation } from '../timeline.js';
import type { CheckContext, Checker } from './types.js';
import { operatorRestartBetween } from './types.js';

export class ExitZeroChecker implements Checker {
  readonly name = 'exit-zero' as const;

  check(ctx: CheckContext): string | null {
    for (const obs of ctx.restarts) {
      const fact = ctx.model.keys.get(obs.key);
      if (fact === undefined) continue;
      const { prev, next } = obs;
      if (operatorRestartBetween(fact, prev.seq, next.seq)) continue;
      const what = `${fact.kind} ${obs.key}`;
      if (prev.endMs === null) {
        const dead = prev.exits.length;
        return (
          `${what}: started again at t=${next.startMs} while ${prev.pids.length - dead} ` +
          `process(es) of its previous incarnation had not been reported dead`
        );
      }
      if (!fact.supervised) return `${what}: unsupervised, yet restarted at t=${next.startMs}`;
      if (!isFailedIncarnation(prev) && !fact.always) {
        return `${what}: exited 0 at t=${prev.endMs} and was restarted at t=${next.startMs}`;
      }
    }
    return null;
  }
}
