/**
 * Backoff checker: the delay between a failure being reported and the restart equals the
 * documented schedule: initial, doubling, capped (200·2^n up to 30 s by default), cleared
 * after a run of at least reset_after, and never sooner than 100 ms after the previous
 * start. A model deliberately simpler than core/policy: a set of possible delays per key.
 */

import { isFailedIncarnation, type RestartObservation } from '../timeline.js';
import type { CheckContext, Checker } from './types.js';
import { firstRestartViolation, operatorRestartBetween, resetAfterMsOf } from './types.js';

const START_MS_MIN_INTERVAL = 100;

/**
 * Possible next delays per key (`gen/key`). A set, because the 100 ms start throttle can
 * hide which backoff was used, and after a restore the tally may have been persisted.
 */
type Expect = Set<number>;

export class BackoffChecker implements Checker {
  readonly name = 'backoff' as const;
  private readonly next = new Map<string, Expect>();

  check(ctx: CheckContext): string | null {
    return firstRestartViolation(ctx, (obs) => this.observe(ctx, obs));
  }

  private observe(ctx: CheckContext, obs: RestartObservation): string | null {
    const fact = ctx.model.keys.get(obs.key);
    const id = `${obs.gen}/${obs.key}`;
    if (fact === undefined) return null;
    const p = fact.policy;
    if (operatorRestartBetween(fact, obs.prev.seq, obs.next.seq)) {
      this.next.set(id, new Set([p.backoffMsInitial]));
      return null;
    }
    const { prev, next } = obs;
    // restart = "always": a clean exit is decided like a failure.
    const failed = isFailedIncarnation(prev) || fact.always;
    if (!failed || prev.endMs === null || !fact.supervised) return null;
    const endMs = prev.endMs;
    const runMs = endMs - prev.startMs;
    const resetAfterMs = resetAfterMsOf(p);
    const fresh =
      obs.gen === fact.gen ? [p.backoffMsInitial] : schedule(p.backoffMsInitial, p.backoffMsMax);
    const known = this.next.get(id) ?? new Set(fresh);
    const candidates = runMs >= resetAfterMs ? [p.backoffMsInitial] : [...known];
    const floorMs = prev.startMs + START_MS_MIN_INTERVAL;
    const used = candidates.filter((b) => Math.max(endMs + b, floorMs) === next.startMs);
    if (used.length === 0) {
      return (
        `${fact.kind} ${obs.key}: restarted ${next.startMs - endMs} ms after its failure at ` +
        `t=${endMs}, expected a backoff of ${candidates.join(' or ')} ms (run ${runMs} ms, ` +
        `initial ${p.backoffMsInitial}, cap ${p.backoffMsMax}, previous start t=${prev.startMs})`
      );
    }
    this.next.set(id, new Set(used.map((b) => (b === 0 ? 0 : Math.min(b * 2, p.backoffMsMax)))));
    ctx.cover('restart delays');
    return null;
  }
}

/** Every delay the schedule can produce: initial·2^k capped. */
function schedule(initialMs: number, maxMs: number): number[] {
  const out = new Set<number>([Math.min(initialMs, maxMs)]);
  for (let ms = initialMs; ms > 0 && ms < maxMs; ms *= 2) out.add(Math.min(ms * 2, maxMs));
  return [...out];
}
