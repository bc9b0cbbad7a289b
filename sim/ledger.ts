/**
 * SimLedger — the simulated twin of the process ledger (adapters/linux/ledger.ts): every
 * process group a daemon starts is recorded in memory and written to "disk" once per loop
 * turn (a timer due now, as the adapter's setImmediate), so a daemon that dies in the same
 * turn as a spawn leaves a ledger without that group. The disk survives daemon crashes;
 * a new daemon reads it (`open`) before it starts anything, and begins an empty one.
 *
 * Fault site `ledger-crash` (the kernel rolls it after a successful spawn): the daemon
 * dies between the spawn and the ledger write.
 */

import type { LedgerView } from '../core/policy/leftovers.js';
import type { SimClock } from './clock.js';

interface Group {
  pgid: number;
  startTicks: number;
  key: string;
}

export class SimLedger {
  /** The scope marker's tag: one per state directory, kept across incarnations. */
  readonly tag = 'sim';
  private disk: Group[] = [];
  private readonly memory = new Map<number, Group>(); // by pgid
  private pending = false;
  writes = 0;

  constructor(
    private readonly clock: SimClock,
    private readonly isAlive: (gen: number) => boolean,
  ) {}

  record(gen: number, group: Group): void {
    this.memory.set(group.pgid, group);
    this.schedule(gen);
  }

  /** A released key's groups are done with: dropped at the next write. */
  forget(gen: number, key: string): void {
    let changed = false;
    for (const [pgid, g] of this.memory) {
      if (g.key === key) changed = this.memory.delete(pgid) || changed;
    }
    if (changed) this.schedule(gen);
  }

  /** A new daemon reads what the last one left, and starts an empty ledger. */
  open(): LedgerView {
    const view = { tag: this.tag, groups: this.disk };
    this.disk = [];
    this.memory.clear();
    this.pending = false;
    return view;
  }

  private schedule(gen: number): void {
    if (this.pending) return;
    this.pending = true;
    this.clock.setTimer(this.clock.nowMs(), () => {
      if (!this.isAlive(gen) || !this.pending) return;
      this.pending = false;
      this.disk = [...this.memory.values()];
      this.writes += 1;
    });
  }
}
