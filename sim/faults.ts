/**
 * Swarm fault configuration (TigerBeetle VOPR `options_swarm`): every fault site is
 * enabled in a random subset of seeds, each with its own integer-ratio probability drawn
 * from the seed. The liveness phase switches every site off at once.
 */

import { type Prng, type Ratio, ratio } from './prng.js';

export const FAULT_KINDS = [
  'spawn-fail', // Kernel: fork fails with EAGAIN, or exec with ENOENT
  'late-exit', // Kernel: the exit notification arrives up to 500 ms late
  'process-crash', // Kernel: a running process dies of SIGSEGV at a random time
  'store-fail', // Store: a snapshot write fails (ENOSPC); the old text stays
  'store-crash', // Store: the daemon dies in the middle of a write; the old text stays
  'cgroup-create-fail', // Cgroups: mkdir fails (EBUSY)
  'cgroup-busy', // Cgroups: a kill or remove answers Busy (the engine retries on a timer)
  'queue-fail', // QueueStore: a commit fails (SQLITE_FULL, I/O error); nothing stored
  'queue-crash', // QueueStore: the daemon dies mid-commit; the transaction lands whole or not
  'queue-crash-done', // QueueStore: the daemon dies between a task's exit 0 and its removal
  'ledger-crash', // Kernel: the daemon dies after a spawn, before its ledger write
] as const;

export type FaultKind = (typeof FAULT_KINDS)[number];

export class Faults {
  private readonly ratios = new Map<FaultKind, Ratio>();
  private enabled = true;
  readonly injected = new Map<FaultKind, number>();

  constructor(
    private readonly prng: Prng,
    /** Fault kinds switched on for this seed with their probability (swarm draw). */
    sites: ReadonlyMap<FaultKind, Ratio>,
  ) {
    for (const [kind, r] of sites) this.ratios.set(kind, r);
  }

  /** Swarm: each site on with probability 1/2, at 1–20 % per opportunity. */
  static swarm(prng: Prng): Faults {
    const draw = prng.fork();
    const sites = new Map<FaultKind, Ratio>();
    for (const kind of FAULT_KINDS) {
      if (draw.boolean()) sites.set(kind, ratio(draw.range(1, 20), 100));
    }
    return new Faults(prng.fork(), sites);
  }

  static none(prng: Prng): Faults {
    return new Faults(prng, new Map());
  }

  sites(): FaultKind[] {
    return [...this.ratios.keys()];
  }

  disable(): void {
    this.enabled = false;
  }

  /** Should this fault fire now? Draws only when the site is on, counts what fires. */
  roll(kind: FaultKind): boolean {
    if (!this.enabled) return false;
    const r = this.ratios.get(kind);
    if (r === undefined || !this.prng.chance(r)) return false;
    this.injected.set(kind, (this.injected.get(kind) ?? 0) + 1);
    return true;
  }

  /** Magnitude for a fault that fired (delay, crash time): uniform in [min, max]. */
  amount(min: number, max: number): number {
    return this.prng.range(min, max);
  }
}
