/**
 * Decision checker, an exact oracle: at every death of a supervised command or pipeline it
 * recomputes, from the kernel's records (start and death times, exit codes), what the
 * restart policy must decide — restart after exactly this delay, crash-loop, give up, or
 * nothing (exit 0, unsupervised, stopping) — and compares it with the decision the engine
 * logged in the same step (`restart`, `pipeline-restart`, `crash-loop`, `give-up`).
 *
 * The oracle is written out here, independently of core/policy (contract §3): the backoff
 * starts at `backoff_ms_initial`, doubles up to `backoff_ms_max`, and starts over after a
 * run of at least `reset_after` (0 = 10 s); `restart_max` consecutive restarts, then give
 * up; more than `crash_loop_max` failures within `crash_loop_window` (a death exactly one
 * window old no longer counts) is a crash loop; never two starts within 100 ms; a death
 * while a stop is under way decides nothing. The engine's own event log gives only the
 * order of things (which step a death was handled in, whether a stop came first); the
 * kernel gives the facts.
 *
 * A restore relaunches services with a fresh tally and crash-loop window, and pipelines with
 * a fresh window but the tally of whichever snapshot survived the crash: read here from
 * that very text (its `restarts`, and its `backoffMs` unless 0). Where it cannot be read,
 * until a run of at least reset_after (or an operator restart) clears the tally, only the
 * kind of decision is judged (a crash loop when the window overflows, else a restart;
 * giving up is always allowed then).
 */

import type { LoggedEvent } from '../eventlog.js';
import type { KeyFact } from '../model.js';
import type { Incarnation } from '../timeline.js';
import type { CheckContext, Checker } from './types.js';
import { resetAfterMsOf } from './types.js';

const START_MS_MIN_INTERVAL = 100;
const DECISIONS = new Set(['restart', 'pipeline-restart', 'crash-loop', 'give-up']);

interface KeyState {
  restarts: number;
  backoffMs: number;
  deathsMs: number[];
  /** An operator restart of a live command: its death respawns it, deciding nothing. */
  respawn: boolean;
  stopping: boolean;
  /** A command between its `run` and its `exit`, as the engine saw it. */
  alive: boolean;
  /** False for a pipeline relaunched by a restore, until a reset or an operator restart. */
  tallyKnown: boolean;
}

type Expected =
  | { kind: 'none'; why: string }
  | { kind: 'restart'; delayMs: number }
  | { kind: 'crash-loop'; deaths: number }
  | { kind: 'give-up' }
  /** The tally is not known: any of these decisions. */
  | { kind: 'one-of'; decisions: string[] };

export class DecisionChecker implements Checker {
  readonly name = 'decision' as const;
  private cursor = 0;
  private readonly keys = new Map<string, KeyState>();
  private readonly stoppingWs = new Set<string>();
  /** Generations whose daemon began its own shutdown: every death after it decides nothing. */
  private readonly shuttingDown = new Set<number>();
  /** Pipelines' tallies in the snapshot text the next daemon restores from (`persisted()`). */
  private tallies = new Map<string, { restarts: number; backoffMs: number }>();

  /** The snapshot text `tallies` was read from: parsed again only when it changed. */
  private talliesText: string | null | undefined = undefined;

  /** The snapshot text the next daemon restores from: parsed when a restart asks for it. */
  private persistedText: string | null | undefined = undefined;

  beforeRestore(ctx: CheckContext): void {
    this.persistedText = ctx.world.store.text;
  }

  private persisted(): Map<string, { restarts: number; backoffMs: number }> {
    if (this.persistedText !== this.talliesText) {
      this.tallies = persistedTallies(this.persistedText ?? null);
      this.talliesText = this.persistedText;
    }
    return this.tallies;
  }

  check(ctx: CheckContext): string | null {
    const events = ctx.world.eventLog.events;
    for (; this.cursor < events.length; this.cursor++) {
      const e = events[this.cursor]!;
      if (e.gen !== ctx.gen) continue;
      const message = this.onEvent(ctx, e, events[this.cursor + 1]);
      if (message !== null) return message;
    }
    return null;
  }

  private onEvent(ctx: CheckContext, e: LoggedEvent, next: LoggedEvent | undefined): string | null {
    const f = e.fields;
    const key = String(f.cmd ?? f.pipeline ?? '');
    switch (e.ev) {
      case 'workspace-stop':
        this.stoppingWs.add(`${e.gen}/${f.ws}`);
        return null;
      case 'daemon-shutdown':
        this.shuttingDown.add(e.gen);
        return null;
      case 'pipeline-stop':
      case 'command-stop':
      case 'command-remove':
        this.state(ctx, e.gen, key).stopping = true;
        return null;
      case 'run':
        this.state(ctx, e.gen, key).alive = true;
        return null;
      case 'restart':
        if (f.operator === true) this.onOperatorRestart(ctx, e, key);
        return null;
      case 'exit':
        return this.onExit(ctx, e, key, next);
      case 'spawn-failed':
        return this.onSpawnFailed(ctx, e, key, next);
      default:
        return null;
    }
  }

  private state(ctx: CheckContext, gen: number, key: string): KeyState {
    const id = `${gen}/${key}`;
    let s = this.keys.get(id);
    if (s === undefined) {
      const fact = ctx.model.keys.get(key);
      const restored = fact?.kind === 'pipeline' && fact.gen !== gen;
      const saved = restored ? this.persisted().get(key) : undefined;
      const tally = { ...freshTally(fact), ...(saved ?? {}) };
      if (saved !== undefined && saved.backoffMs === 0)
        tally.backoffMs = freshTally(fact).backoffMs;
      const tallyKnown = !restored || saved !== undefined;
      const fresh = { deathsMs: [], respawn: false, stopping: false, alive: false, tallyKnown };
      s = { ...tally, ...fresh };
      this.keys.set(id, s);
    }
    return s;
  }

  private onOperatorRestart(ctx: CheckContext, e: LoggedEvent, key: string): void {
    const s = this.state(ctx, e.gen, key);
    if (s.alive) {
      s.respawn = true;
      return;
    }
    Object.assign(s, freshTally(ctx.model.keys.get(key)), { deathsMs: [], tallyKnown: true });
  }

  /** A command's exit, or a pipeline node's: the death is decided on once all are dead. */
  private onExit(
    ctx: CheckContext,
    e: LoggedEvent,
    key: string,
    next: LoggedEvent | undefined,
  ): string | null {
    if (e.fields.cmd !== undefined) this.state(ctx, e.gen, key).alive = false;
    const pid = Number(e.fields.pid);
    const inc = ctx.timeline.incarnationOf(pid);
    if (inc === undefined || inc.key !== key) return null;
    const index = inc.exits.findIndex((x) => x.pid === pid);
    if (index !== inc.pids.length - 1) return null; // a pipeline node, others still alive
    const failed = inc.exits.some((x) => x.signal !== null || x.code !== 0);
    return this.decide(ctx, e, key, inc, failed, e.atMs - inc.startMs, next);
  }

  /** A later spawn that failed: a death after 0 ms (the caller's first is only refused). */
  private onSpawnFailed(
    ctx: CheckContext,
    e: LoggedEvent,
    key: string,
    next: LoggedEvent | undefined,
  ): string | null {
    // A resource fault (LimitExceeded) is the daemon's, not a death: retried, never decided.
    if (e.fields.reason === 'LimitExceeded') return null;
    const history = ctx.timeline.history(e.gen, key);
    const inc = history[history.length - 1];
    if (inc === undefined || inc.spawned) return null;
    // Only the caller's first start is refused rather than decided; a restore's relaunch of
    // a service (acknowledged in an earlier generation) that fails to spawn is a death.
    const relaunch = ctx.model.keys.get(key)?.gen !== e.gen;
    if (!relaunch && !history.some((h) => h.spawned)) return null;
    return this.decide(ctx, e, key, inc, true, 0, next);
  }

  private decide(
    ctx: CheckContext,
    e: LoggedEvent,
    key: string,
    inc: Incarnation,
    failed: boolean,
    runMs: number,
    next: LoggedEvent | undefined,
  ): string | null {
    const fact = ctx.model.keys.get(key);
    if (fact === undefined) return null;
    const s = this.state(ctx, e.gen, key);
    const expected = this.expect(fact, s, e, inc, failed, runMs);
    const actual = next !== undefined && isDecisionOf(next, key) ? next : null;
    const message = compare(expected, actual);
    if (message === null) {
      if (!failed && fact.always && expected.kind !== 'none') ctx.cover('clean exits restarted');
      if (expected.kind === 'one-of') ctx.cover('decisions with a restored tally (kind only)');
      else if (expected.kind !== 'none') ctx.cover(`exact decisions (${expected.kind})`);
      return null;
    }
    const how = failed ? 'failed' : 'exit 0';
    const died = `${fact.kind} ${key} died at t=${e.atMs} (run ${runMs} ms, ${how})`;
    return `${died}: ${message} (restarts ${s.restarts}, deaths ${s.deathsMs.join(',')})`;
  }

  /** What the policy must decide, and the tally it leaves. */
  private expect(
    fact: KeyFact,
    s: KeyState,
    e: LoggedEvent,
    inc: Incarnation,
    failed: boolean,
    runMs: number,
  ): Expected {
    if (s.respawn) {
      Object.assign(s, freshTally(fact), { deathsMs: [], respawn: false });
      return { kind: 'none', why: 'an operator restart respawns it' };
    }
    const stoppingWs = this.stoppingWs.has(`${e.gen}/${fact.wsId}`);
    if (s.stopping || stoppingWs || this.shuttingDown.has(e.gen)) {
      return { kind: 'none', why: 'it is stopping' };
    }
    if (!failed && !fact.always) return { kind: 'none', why: 'it exited 0' };
    if (!fact.supervised) return { kind: 'none', why: 'it is not supervised' };
    const p = fact.policy;
    if (runMs >= resetAfterMsOf(p)) Object.assign(s, freshTally(fact), { tallyKnown: true });
    const givesUp = p.restartMax > 0 && s.restarts >= p.restartMax;
    if (givesUp && s.tallyKnown) return { kind: 'give-up' };
    const { deathsMax, windowMs } = fact.crashLoop;
    const deathsMs = [...s.deathsMs.filter((ms) => ms > e.atMs - windowMs), e.atMs];
    s.deathsMs = deathsMs.slice(-(deathsMax + 1));
    const crashLoop = deathsMax > 0 && deathsMs.length > deathsMax;
    if (!s.tallyKnown) {
      const decisions = p.restartMax > 0 ? ['give-up'] : [];
      decisions.push(...(crashLoop ? ['crash-loop'] : ['restart', 'pipeline-restart']));
      return { kind: 'one-of', decisions };
    }
    if (crashLoop) return { kind: 'crash-loop', deaths: s.deathsMs.length };
    const atMs = Math.max(e.atMs + s.backoffMs, inc.startMs + START_MS_MIN_INTERVAL);
    s.restarts += 1;
    s.backoffMs = Math.min(s.backoffMs * 2, Math.max(0, p.backoffMsMax));
    return { kind: 'restart', delayMs: atMs - e.atMs };
  }
}

/** `livePipelines[].restarts` and `.backoffMs` of a snapshot text, by pipeline id. */
function persistedTallies(
  text: string | null,
): Map<string, { restarts: number; backoffMs: number }> {
  const tallies = new Map<string, { restarts: number; backoffMs: number }>();
  let doc: unknown;
  try {
    doc = JSON.parse(text ?? 'null');
  } catch {
    return tallies;
  }
  const live = (doc as { livePipelines?: unknown } | null)?.livePipelines;
  if (!Array.isArray(live)) return tallies;
  for (const p of live as { id?: unknown; restarts?: unknown; backoffMs?: unknown }[]) {
    const { id, restarts, backoffMs } = p ?? {};
    if (typeof id !== 'string' || !Number.isInteger(restarts)) continue;
    if (!Number.isInteger(backoffMs)) continue;
    tallies.set(id, { restarts: restarts as number, backoffMs: backoffMs as number });
  }
  return tallies;
}

function freshTally(fact: KeyFact | undefined): { restarts: number; backoffMs: number } {
  const p = fact?.policy;
  if (p === undefined) return { restarts: 0, backoffMs: 0 };
  const maxMs = Math.max(0, p.backoffMsMax);
  return { restarts: 0, backoffMs: Math.min(Math.max(0, p.backoffMsInitial), maxMs) };
}

function isDecisionOf(e: LoggedEvent, key: string): boolean {
  if (!DECISIONS.has(e.ev) || e.fields.operator === true) return false;
  return String(e.fields.cmd ?? e.fields.pipeline ?? '') === key;
}

function compare(expected: Expected, actual: LoggedEvent | null): string | null {
  const did = actual === null ? 'decided nothing' : describe(actual);
  switch (expected.kind) {
    case 'none':
      return actual === null ? null : `the engine ${did}, but ${expected.why}`;
    case 'restart': {
      const ok =
        (actual?.ev === 'restart' || actual?.ev === 'pipeline-restart') &&
        actual.fields.backoff_ms === expected.delayMs;
      return ok ? null : `expected a restart after ${expected.delayMs} ms, the engine ${did}`;
    }
    case 'crash-loop':
      return actual?.ev === 'crash-loop'
        ? null
        : `expected a crash loop (${expected.deaths} deaths in the window), the engine ${did}`;
    case 'give-up':
      return actual?.ev === 'give-up' ? null : `expected it to give up, the engine ${did}`;
    case 'one-of':
      return actual !== null && expected.decisions.includes(actual.ev)
        ? null
        : `expected one of ${expected.decisions.join(', ')}, the engine ${did}`;
  }
}

function describe(e: LoggedEvent): string {
  const delay = e.fields.backoff_ms === undefined ? '' : ` after ${e.fields.backoff_ms} ms`;
  return `decided ${e.ev}${delay}`;
}
