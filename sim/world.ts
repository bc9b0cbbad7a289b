/**
 * SimWorld — one seed's simulated machine: clock, kernel, cgroups, store, event log and
 * ids, plus daemon generations. Each daemon incarnation gets its own view of the ports;
 * when it crashes its timers stop firing, its roots die (PDEATHSIG) and its pending
 * kernel notifications are dropped, while the store, the process ledger, the cgroups and
 * what the roots forked survive it (the next daemon's start-up sweep ends those).
 *
 * Fault model: the union of the components' (see their headers), plus daemon crashes
 * chosen by the workload.
 */

import { type LeftoversRule, leftovers } from '../core/policy/leftovers.js';
import type { Clock, Ports, Store } from '../core/ports.js';
import { drawCaps, SimCgroups } from './cgroups.js';
import { SimClock } from './clock.js';
import { Digest } from './digest.js';
import { SimEventLog } from './eventlog.js';
import { Faults } from './faults.js';
import { SimIds } from './ids.js';
import { SimKernel } from './kernel.js';
import { SimLedger } from './ledger.js';
import { Prng } from './prng.js';
import { SimQueueStore } from './queue-store.js';
import { SimStore } from './store.js';
import { Trace } from './trace.js';

export interface WorldOptions {
  seed: number;
  /** Swarm faults (safety phase) or none. */
  faults: boolean;
  trace: boolean;
  /** Fingerprint the run (digest.ts): every snapshot write, event, spawn and exit. */
  digest?: boolean;
  echo?: (line: string) => void;
  /** The start-up sweep's rule; default core/policy/leftovers.ts. */
  leftovers?: LeftoversRule;
}

export class SimWorld {
  readonly prng: Prng;
  readonly clock = new SimClock();
  readonly faults: Faults;
  readonly trace: Trace;
  readonly kernel: SimKernel;
  readonly cgroups: SimCgroups;
  readonly store: SimStore;
  readonly queue: SimQueueStore;
  readonly eventLog: SimEventLog;
  readonly ids: SimIds;
  readonly digest: Digest;
  /** Current daemon generation; generations before it are dead. */
  gen = 0;
  private readonly dead = new Set<number>();
  daemonCrashes = 0;

  constructor(options: WorldOptions) {
    this.prng = new Prng(options.seed);
    const faultPrng = this.prng.fork();
    this.faults = options.faults ? Faults.swarm(faultPrng) : Faults.none(faultPrng);
    this.trace = new Trace(options.trace, () => this.clock.nowMs(), options.echo ?? null);
    const isAlive = (gen: number) => !this.dead.has(gen);
    this.kernel = new SimKernel(this.clock, this.faults, this.trace, isAlive);
    const ledger = new SimLedger();
    this.kernel.attachLedger(ledger, (gen) => this.crash(gen), options.leftovers ?? leftovers);
    this.cgroups = new SimCgroups(this.kernel, drawCaps(this.prng.fork()), this.faults, this.trace);
    this.store = new SimStore(
      this.faults,
      this.trace,
      () => this.clock.nowMs(),
      isAlive,
      (gen) => this.crash(gen),
    );
    this.queue = new SimQueueStore(
      this.faults,
      this.trace,
      isAlive,
      (gen) => this.crash(gen),
      () => this.kernel.seq,
    );
    this.eventLog = new SimEventLog(() => this.clock.nowMs());
    this.ids = new SimIds(this.prng.fork(), () => this.clock.wallMs());
    this.digest = new Digest(options.digest ?? false);
  }

  isAlive(gen: number): boolean {
    return !this.dead.has(gen);
  }

  /** The ports as daemon generation `gen` sees them. */
  ports(gen: number): Ports {
    return {
      clock: this.clockFor(gen),
      kernel: this.kernel.port(gen),
      cgroups: this.cgroups.port(gen),
      store: this.storeFor(gen),
      eventLog: this.eventLog.port(gen),
      ids: this.ids,
      queue: this.queue.port(gen),
    };
  }

  /** Daemon `gen` dies now: its processes die with it, its timers never fire. */
  crash(gen: number): void {
    if (this.dead.has(gen)) return;
    this.dead.add(gen);
    this.daemonCrashes += 1;
    const killed = this.kernel.crashGen(gen);
    this.trace.add(() => `daemon gen${gen} crashed; ${killed} processes died with it`);
  }

  /** Start the next generation (after a crash). */
  nextGen(): number {
    this.gen += 1;
    return this.gen;
  }

  private storeFor(gen: number): Store {
    const store = this.store.port(gen);
    if (!this.digest.enabled) return store;
    const digest = this.digest;
    return {
      ...store,
      write: (text) => {
        const result = store.write(text);
        digest.add(`write gen${gen} t=${this.clock.nowMs()} ok=${result.ok}`);
        digest.add(text);
        return result;
      },
    };
  }

  /** Fold what the run recorded into the digest and return it (null when disabled). */
  finishDigest(summary: () => string): string | null {
    if (!this.digest.enabled) return null;
    for (const e of this.eventLog.events) this.digest.add(JSON.stringify(e));
    this.digest.add(JSON.stringify(this.kernel.spawns));
    this.digest.add(JSON.stringify(this.kernel.exits));
    this.digest.add(JSON.stringify(this.kernel.releases));
    this.digest.add(this.store.text ?? 'no snapshot');
    this.digest.add(summary());
    return this.digest.finish();
  }

  private clockFor(gen: number): Clock {
    const clock = this.clock;
    return {
      nowMs: () => clock.nowMs(),
      wallMs: () => clock.wallMs(),
      setTimer: (atMs, fire) =>
        clock.setTimer(atMs, () => {
          if (!this.dead.has(gen)) fire();
        }),
      clearTimer: (handle) => clock.clearTimer(handle),
    };
  }
}
