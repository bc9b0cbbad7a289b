import { randomInt } from 'node:crypto';
import { env } from 'node:process';
import fc from 'fast-check';
import { defaultRestartPolicy, freshTally, type Tally } from './backoff.js';
import { decideRestart, type ExitInfo, type RestartDecision } from './restart.js';

const policy = defaultRestartPolicy(true);
const fail: ExitInfo = { code: 1, signal: null };
const tally0 = freshTally(policy);

describe('decideRestart', () => {
  it.each<[string, ExitInfo, boolean, boolean, RestartDecision['kind'], string | undefined]>([
    ['exit 0 ends supervision', { code: 0, signal: null }, true, false, 'done', 'exit-0'],
    ['an operator stop is never restarted', fail, true, true, 'done', 'stopped'],
    ['a failure of an unsupervised command is final', fail, false, false, 'done', 'unsupervised'],
    ['a failure is restarted', fail, true, false, 'restart', undefined],
    [
      'a signal death is a failure',
      { code: null, signal: 'SIGKILL' },
      true,
      false,
      'restart',
      undefined,
    ],
    [
      'a stop wins over a signal death',
      { code: null, signal: 'SIGTERM' },
      true,
      true,
      'done',
      'stopped',
    ],
  ])('%s', (_title, exit, supervised, stopping, kind, reason) => {
    const d = decideRestart({ ...policy, restartOnFailure: supervised }, exit, tally0, 5, stopping);
    expect(d.kind).toBe(kind);
    if (reason !== undefined) expect(d).toMatchObject({ reason });
  });

  it('waits the current backoff and doubles it for the next time', () => {
    expect(decideRestart(policy, fail, { restarts: 2, backoffMs: 800 }, 5, false)).toEqual({
      kind: 'restart',
      delayMs: 800,
      tally: { restarts: 3, backoffMs: 1600 },
    });
  });

  it('gives up once restart_max restarts have happened', () => {
    const limited = { ...policy, restartMax: 2 };
    expect(decideRestart(limited, fail, { restarts: 1, backoffMs: 400 }, 5, false).kind).toBe(
      'restart',
    );
    expect(decideRestart(limited, fail, { restarts: 2, backoffMs: 800 }, 5, false)).toEqual({
      kind: 'give-up',
      reason: 'restart_max',
    });
  });

  it('starts over at 200 ms after a run that stayed up 10 s', () => {
    const d = decideRestart(policy, fail, { restarts: 7, backoffMs: 25_600 }, 10_000, false);
    expect(d).toEqual({ kind: 'restart', delayMs: 200, tally: { restarts: 1, backoffMs: 400 } });
  });

  it('refuses a negative run time (a clock bug, not a failure)', () => {
    expect(() => decideRestart(policy, fail, tally0, -1, false)).toThrow('runMs');
  });
});

// ── Model-based: a supervised unit driven by decideRestart, against a model that only
// counts consecutive short failures. The model is deliberately simpler than the policy:
// delay = min(200 · 2^k, cap), give up when restart_max > 0 and k = restart_max.

interface Model {
  failures: number;
  over: boolean;
}

interface Real {
  tally: Tally;
  over: boolean;
  log: string[];
}

const CAP_MS = 30_000;
const RESTART_MAX = 6;
const unitPolicy = { ...policy, restartMax: RESTART_MAX };

function expectedDelayMs(failures: number): number {
  return Math.min(200 * 2 ** failures, CAP_MS);
}

class Fail implements fc.Command<Model, Real> {
  constructor(readonly runMs: number) {}
  check(m: Readonly<Model>): boolean {
    return !m.over;
  }
  run(m: Model, r: Real): void {
    const d = decideRestart(unitPolicy, { code: 1, signal: null }, r.tally, this.runMs, false);
    r.log.push(`${this.toString()} → ${JSON.stringify(d)}`);
    if (this.runMs >= 10_000) m.failures = 0;
    if (m.failures >= RESTART_MAX) {
      expect(d).toEqual({ kind: 'give-up', reason: 'restart_max' });
      m.over = true;
      r.over = true;
      return;
    }
    if (d.kind !== 'restart') throw new Error(`expected a restart, got ${d.kind}`);
    expect(d.delayMs).toBe(expectedDelayMs(m.failures));
    m.failures += 1;
    r.tally = d.tally;
  }
  toString(): string {
    return `fail(runMs=${this.runMs})`;
  }
}

class Finish implements fc.Command<Model, Real> {
  constructor(readonly stopping: boolean) {}
  check(m: Readonly<Model>): boolean {
    return !m.over;
  }
  run(m: Model, r: Real): void {
    const exit = this.stopping ? { code: null, signal: 'SIGTERM' } : { code: 0, signal: null };
    const d = decideRestart(unitPolicy, exit, r.tally, 1, this.stopping);
    expect(d).toEqual({ kind: 'done', reason: this.stopping ? 'stopped' : 'exit-0' });
    m.over = true;
    r.over = true;
  }
  toString(): string {
    return this.stopping ? 'operator-stop' : 'exit-0';
  }
}

const commands = [
  fc.integer({ min: 0, max: 9_999 }).map((ms) => new Fail(ms)),
  fc.integer({ min: 10_000, max: 100_000 }).map((ms) => new Fail(ms)),
  fc.boolean().map((stopping) => new Finish(stopping)),
];

// Replay a failure with FC_SEED=<seed> FC_PATH=<path> (both printed by fast-check).
const seed = env.FC_SEED ? Number(env.FC_SEED) : randomInt(2 ** 31 - 1);
const path = env.FC_PATH;

describe('restart policy model', () => {
  it(`matches the doubling model over random failure sequences (FC_SEED=${seed})`, () => {
    fc.assert(
      fc.property(fc.commands(commands, { maxCommands: 40 }), (cmds) => {
        const setup = () => ({
          model: { failures: 0, over: false },
          real: { tally: freshTally(unitPolicy), over: false, log: [] as string[] },
        });
        fc.modelRun(setup, cmds);
      }),
      { seed, path, numRuns: 300, verbose: true },
    );
  });
});
