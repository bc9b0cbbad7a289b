/**
 * One seed's state and its checked steps (runner.ts drives the two phases).
 * One seed, two phases (STYLE sim/5). Safety: the workload runs with the swarm's faults
 * on and every checker runs after every step (an operation, or one batch of timers firing
 * at the same instant). Liveness: faults off, every workspace and pipeline is stopped,
 * and the system must converge (all stops resolve, nothing alive) within a bounded time.
 */

import type { CreateSupervisor, Supervisor, SupervisorOptions } from '../core/engine/api.js';
import type { LeftoversRule } from '../core/policy/leftovers.js';
import {
  type CheckContext,
  type Checker,
  EXIT_CODES,
  type FailureClass,
  makeCheckers,
} from './checkers/index.js';
import type { FaultKind } from './faults.js';
import { Model } from './model.js';
import type { Prng } from './prng.js';
import { Timeline } from './timeline.js';
import { generateWorkload, type Op } from './workload.js';
import { SimWorld } from './world.js';

export interface RunOptions {
  seed: number;
  createSupervisor: CreateSupervisor;
  supervisorOptions?: SupervisorOptions;
  /** The start-up sweep's rule (a test seam for mutants; default core/policy/leftovers.ts). */
  leftovers?: LeftoversRule;
  /** Indices of the workload to run (the shrinker's subsets); null = all. */
  keep?: ReadonlySet<number> | null;
  trace?: boolean;
  /** Compute the run's digest (digest.ts). */
  digest?: boolean;
  echo?: (line: string) => void;
}

export interface Violation {
  failure: FailureClass;
  exitCode: number;
  message: string;
  phase: 'safety' | 'liveness';
  /** Index in the workload of the operation during or after which it fired; -1 = liveness. */
  opIndex: number;
  atMs: number;
}

export interface RunResult {
  seed: number;
  ops: Op[];
  /** Indices of `ops` that ran. */
  ran: number[];
  violation: Violation | null;
  lifecycles: number;
  faults: Map<FaultKind, number>;
  faultSites: FaultKind[];
  checks: number;
  steps: number;
  daemonCrashes: number;
  simMs: number;
  trace: string[];
  coverage: Map<string, number>;
  /** The run's fingerprint when asked for (`digest`), else null. */
  digest: string | null;
}

export class ViolationError extends Error {
  constructor(
    readonly failure: FailureClass,
    message: string,
  ) {
    super(message);
  }
}

export const SAMPLE_EVERY_MS = 1000;
export const DEAD_COMMANDS_MAX = 64;

/** Swarm over the engine's tunables too: each seed runs with its own periods and bounds. */
function drawSupervisorOptions(prng: Prng): SupervisorOptions {
  return {
    sampleEveryMs: prng.pick([250, 500, 1000]),
    saveDelayMs: prng.pick([0, 50, 200, 1000]),
    deadCommandsMax: prng.pick([2, 8, 64]),
  };
}
const STEPS_MAX = 200_000;

/** Drain the microtask queue (the engine's promise continuations) without real time. */
const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function asViolation(error: unknown): ViolationError {
  if (error instanceof ViolationError) return error;
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  return new ViolationError('engine-threw', message);
}

export interface PendingStop {
  what: string;
  gen: number;
  atMs: number;
  graceMs: number;
  done: boolean;
}

export class SeedRun {
  readonly world: SimWorld;
  readonly model = new Model();
  readonly ops: Op[];
  readonly timeline = new Timeline();
  readonly checkers: Checker[] = makeCheckers();
  readonly pendingStops: PendingStop[] = [];
  /** What the checkers actually verified, by kind. */
  readonly coverage = new Map<string, number>();
  sup!: Supervisor;
  gen = 0;
  genStartedAtMs = 0;
  checks = 0;
  steps = 0;
  wsCreated = 0;
  pipelinesRun = 0;
  /** Every other `run` goes through the batch call (`runCommands`, one write per batch). */
  commandsRun = 0;
  /** A rejected engine promise or a throw inside a callback, raised at the next check. */
  deferred: ViolationError | null = null;
  phase: 'safety' | 'liveness' = 'safety';
  opIndex = -1;

  constructor(readonly options: RunOptions) {
    this.world = new SimWorld({
      seed: options.seed,
      faults: true,
      trace: options.trace ?? false,
      digest: options.digest ?? false,
      ...(options.echo ? { echo: options.echo } : {}),
      ...(options.leftovers ? { leftovers: options.leftovers } : {}),
    });
    const workloadPrng = this.world.prng.fork();
    this.ops = generateWorkload(workloadPrng, workloadPrng.range(30, 150));
    this.supervisorOptions = {
      ...drawSupervisorOptions(this.world.prng.fork()),
      ...options.supervisorOptions,
    };
  }

  readonly supervisorOptions: SupervisorOptions;

  get sampleEveryMs(): number {
    return this.supervisorOptions.sampleEveryMs ?? SAMPLE_EVERY_MS;
  }

  get deadCommandsMax(): number {
    return this.supervisorOptions.deadCommandsMax ?? DEAD_COMMANDS_MAX;
  }

  result(ran: number[], violation: Violation | null): RunResult {
    const summary = (): string => {
      const coverage = [...this.coverage].map(([k, n]) => `${k}=${n}`).join(' ');
      const faults = [...this.world.faults.injected].map(([k, n]) => `${k}=${n}`).join(' ');
      return (
        `lifecycles=${this.world.kernel.lifecycles} checks=${this.checks} ` +
        `steps=${this.steps} crashes=${this.world.daemonCrashes} ` +
        `simMs=${this.world.clock.nowMs()} faults ${faults} coverage ${coverage} ` +
        `violation ${JSON.stringify(violation)}`
      );
    };
    return {
      digest: this.world.finishDigest(summary),
      seed: this.options.seed,
      ops: this.ops,
      ran,
      violation,
      lifecycles: this.world.kernel.lifecycles,
      faults: this.world.faults.injected,
      faultSites: this.world.faults.sites(),
      checks: this.checks,
      steps: this.steps,
      daemonCrashes: this.world.daemonCrashes,
      simMs: this.world.clock.nowMs(),
      trace: this.world.trace.lines,
      coverage: this.coverage,
    };
  }

  toViolation(error: unknown): Violation {
    const base = { phase: this.phase, opIndex: this.opIndex, atMs: this.world.clock.nowMs() };
    if (error instanceof ViolationError) {
      return {
        ...base,
        failure: error.failure,
        exitCode: EXIT_CODES[error.failure],
        message: error.message,
      };
    }
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    return { ...base, failure: 'engine-threw', exitCode: EXIT_CODES['engine-threw'], message };
  }

  /** Run engine code; an exception out of the engine is a violation of its own class. */
  async guard(fn: () => void | Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (error) {
      throw asViolation(error);
    }
  }

  /** `guard` for synchronous engine code, without a promise per call (the hot loop's). */
  guardSync<T>(fn: () => T): T {
    try {
      return fn();
    } catch (error) {
      throw asViolation(error);
    }
  }

  startDaemon(): void {
    // As adapters/daemon/main.ts: end what a killed daemon left before anything starts.
    const swept = this.world.kernel.sweep();
    if (swept > 0)
      this.coverage.set('leftovers swept', (this.coverage.get('leftovers swept') ?? 0) + swept);
    const ports = this.world.ports(this.gen);
    this.genStartedAtMs = this.world.clock.nowMs();
    this.sup = this.options.createSupervisor(ports, this.supervisorOptions);
    if (this.world.trace.enabled) {
      const gen = this.gen;
      this.sup.onEvent((e) =>
        this.world.trace.add(() => `gen${gen} ev=${e.ev} ${JSON.stringify(e.fields)}`),
      );
    }
    const report = this.sup.start();
    this.world.trace.add(
      () => `daemon gen${this.gen} started: ${report.outcome} ${report.message}`,
    );
  }

  /** After an operation: let promises run, restore a dead daemon, check. */
  async settle(): Promise<void> {
    await flush();
    if (!this.world.isAlive(this.gen)) await this.restore();
    this.check();
  }

  async restore(): Promise<void> {
    this.world.crash(this.gen);
    this.check();
    for (const c of this.checkers) c.beforeRestore?.(this.context());
    for (const stop of this.pendingStops) if (stop.gen === this.gen) stop.done = true;
    this.gen = this.world.nextGen();
    // A crash in the middle of a restore is not a site of the ledger-crash fault: the
    // restore checkers judge one restart at a time.
    this.world.kernel.startingUp = true;
    try {
      await this.guard(() => this.startDaemon());
      await this.guard(() => this.world.clock.advanceTo(this.world.clock.nowMs()));
      await flush();
    } finally {
      this.world.kernel.startingUp = false;
    }
    const ctx = this.context();
    for (const c of this.checkers) {
      const message = c.afterRestore?.(ctx) ?? null;
      this.checks += 1;
      if (message !== null) throw new ViolationError(c.name, message);
    }
  }

  private readonly cover = (what: string): void => {
    this.coverage.set(what, (this.coverage.get(what) ?? 0) + 1);
  };

  context(): CheckContext {
    const { restarts, spawns } = this.timeline.update(this.world.kernel);
    return {
      world: this.world,
      model: this.model,
      sup: this.sup,
      gen: this.gen,
      genStartedAtMs: this.genStartedAtMs,
      nowMs: this.world.clock.nowMs(),
      sampleEveryMs: this.sampleEveryMs,
      deadCommandsMax: this.deadCommandsMax,
      timeline: this.timeline,
      cover: this.cover,
      restarts,
      spawns,
    };
  }

  check(): void {
    this.steps += 1;
    if (this.deferred !== null) throw this.deferred;
    if (this.steps > STEPS_MAX)
      throw new ViolationError('liveness', `more than ${STEPS_MAX} steps: a timer storm?`);
    const ctx = this.context();
    for (const c of this.checkers) {
      this.checks += 1;
      const message = c.check(ctx);
      if (message !== null) throw new ViolationError(c.name, message);
    }
  }

  /**
   * Advance simulated time by `ms`, checking after each batch of timers. The loop holds
   * `settle` written out: this is most of the steps, and an async call per step is garbage
   * (checks queue no promise work, so nothing can run between them and the next batch).
   */
  async advance(ms: number): Promise<void> {
    const targetMs = this.world.clock.nowMs() + ms;
    for (;;) {
      const more = this.guardSync(() => this.world.clock.advanceBatch(targetMs));
      await flush();
      if (!this.world.isAlive(this.gen)) await this.restore();
      this.check();
      if (!more) return;
    }
  }

  /** Advance until `done()` or the budget runs out; returns whether it converged. */
  async advanceUntil(budgetMs: number, done: () => boolean): Promise<boolean> {
    const deadlineMs = this.world.clock.nowMs() + budgetMs;
    while (!done()) {
      if (this.world.clock.nowMs() >= deadlineMs) return false;
      const nextMs = this.world.clock.nextDueMs();
      const stepMs =
        nextMs === null
          ? deadlineMs
          : Math.min(deadlineMs, Math.max(nextMs, this.world.clock.nowMs()));
      await this.advance(stepMs - this.world.clock.nowMs());
    }
    return true;
  }
}
