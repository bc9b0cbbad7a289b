import fc from 'fast-check';
import type { CrashLoopPolicy, RestartPolicy } from '../manifest/types.js';
import { RESET_AFTER_MS } from './backoff.js';
import { type DeathInput, nextIncarnation } from './incarnation.js';
import { START_MS_MIN_INTERVAL } from './throttle.js';

const restart: fc.Arbitrary<RestartPolicy> = fc.record({
  restartOnFailure: fc.boolean(),
  backoffMsInitial: fc.integer({ min: 0, max: 5000 }),
  backoffMsMax: fc.integer({ min: 0, max: 60_000 }),
  restartMax: fc.nat(6),
  resetAfterMs: fc.constantFrom(0, 1000, RESET_AFTER_MS),
});

const crashLoop: fc.Arbitrary<CrashLoopPolicy> = fc.record({
  deathsMax: fc.nat(5),
  windowMs: fc.integer({ min: 1, max: 300_000 }),
});

const input: fc.Arbitrary<DeathInput> = fc
  .record({
    restart,
    crashLoop,
    code: fc.option(fc.nat(3), { nil: null }),
    signal: fc.option(fc.constantFrom('SIGKILL', 'SIGSEGV'), { nil: null }),
    runMs: fc.nat(20_000),
    stopping: fc.boolean(),
    restarts: fc.nat(8),
    backoffMs: fc.nat(40_000),
    nowMs: fc.integer({ min: 400_000, max: 1_000_000 }),
    ago: fc.array(fc.nat(400_000), { maxLength: 6 }),
    lastStartAgo: fc.option(fc.nat(1000), { nil: null }),
  })
  .map((r) => ({
    restart: r.restart,
    crashLoop: r.crashLoop,
    exit: { code: r.signal === null ? (r.code ?? 0) : null, signal: r.signal },
    runMs: r.runMs,
    stopping: r.stopping,
    tally: { restarts: r.restarts, backoffMs: r.backoffMs },
    deathsMs: r.ago.map((a) => r.nowMs - a).sort((a, b) => a - b),
    nowMs: r.nowMs,
    lastStartMs: r.lastStartAgo === null ? null : r.nowMs - r.lastStartAgo,
  }));

const failed = (i: DeathInput) => i.exit.signal !== null || i.exit.code !== 0;

/** What the tally's restart count is after the run (a long enough run resets it). */
function restartsAfterRun(i: DeathInput): number {
  const resetAfterMs = i.restart.resetAfterMs > 0 ? i.restart.resetAfterMs : RESET_AFTER_MS;
  return i.runMs >= resetAfterMs ? 0 : i.tally.restarts;
}

describe('nextIncarnation', () => {
  it('ends what dies in a stop, exits 0 or is unsupervised, carrying nothing forward', () => {
    fc.assert(
      fc.property(input, (i) => {
        const r = nextIncarnation(i);
        let reason: string | null = null;
        if (i.stopping) reason = 'stopped';
        else if (!failed(i)) reason = 'exit-0';
        else if (!i.restart.restartOnFailure) reason = 'unsupervised';
        if (reason === null) return;
        expect(r).toEqual({ next: { kind: 'done', reason }, tally: i.tally, deathsMs: i.deathsMs });
      }),
    );
  });

  it('gives up exactly when restart_max consecutive restarts were reached', () => {
    fc.assert(
      fc.property(input, (i) => {
        fc.pre(!i.stopping && failed(i) && i.restart.restartOnFailure);
        const r = nextIncarnation(i);
        const reached = i.restart.restartMax > 0 && restartsAfterRun(i) >= i.restart.restartMax;
        expect(r.next.kind === 'give-up').toBe(reached);
      }),
    );
  });

  it('trips the crash-loop guard exactly when the window holds more than deathsMax deaths', () => {
    fc.assert(
      fc.property(input, (i) => {
        fc.pre(!i.stopping && failed(i) && i.restart.restartOnFailure);
        const r = nextIncarnation(i);
        fc.pre(r.next.kind !== 'give-up');
        const inWindow = i.deathsMs.filter((ms) => ms > i.nowMs - i.crashLoop.windowMs).length + 1;
        const trips = i.crashLoop.deathsMax > 0 && inWindow > i.crashLoop.deathsMax;
        expect(r.next.kind).toBe(trips ? 'crash-loop' : 'backoff');
        if (r.next.kind === 'crash-loop') expect(r.next.deaths).toBe(r.deathsMs.length);
        expect(r.deathsMs[r.deathsMs.length - 1]).toBe(i.nowMs);
      }),
    );
  });

  it('waits the backoff, never starting sooner than the throttle allows, and counts it', () => {
    fc.assert(
      fc.property(input, (i) => {
        const r = nextIncarnation(i);
        if (r.next.kind !== 'backoff') return;
        const { atMs, delayMs } = r.next;
        expect(delayMs).toBe(atMs - i.nowMs);
        expect(delayMs).toBeGreaterThanOrEqual(0);
        if (i.lastStartMs !== null) {
          expect(atMs).toBeGreaterThanOrEqual(i.lastStartMs + START_MS_MIN_INTERVAL);
        }
        const reset = i.runMs >= (i.restart.resetAfterMs || RESET_AFTER_MS);
        if (!reset && i.lastStartMs === null) expect(delayMs).toBe(i.tally.backoffMs);
        expect(r.tally.restarts).toBe(restartsAfterRun(i) + 1);
        expect(r.tally.backoffMs).toBeLessThanOrEqual(Math.max(0, i.restart.backoffMsMax));
      }),
    );
  });
});
