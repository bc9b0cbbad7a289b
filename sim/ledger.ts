/**
 * SimLedger — the simulated twin of the process ledger (adapters/linux/ledger.ts): every
 * process group a daemon starts is appended as the spawn returns, and a released group as
 * a removal, in the same call (the adapter's one write(2) of one line). The "disk"
 * survives daemon crashes; a new daemon reads it (`open`) before it starts anything, and
 * begins an empty one.
 *
 * Fault site `ledger-crash` (rolled by the kernel after a successful spawn, before the
 * record): the daemon dies between the spawn and its ledger line.
 */

import type { LedgerView } from '../core/policy/leftovers.js';

interface Group {
  pgid: number;
  startTicks: number;
  key: string;
}

export class SimLedger {
  /** The scope marker's tag: one per state directory, kept across incarnations. */
  readonly tag = 'sim';
  private readonly disk = new Map<number, Group>(); // by pgid

  record(group: Group): void {
    this.disk.set(group.pgid, group);
  }

  /** A released key's groups are done with. */
  forget(key: string): void {
    for (const [pgid, g] of this.disk) if (g.key === key) this.disk.delete(pgid);
  }

  /** A new daemon reads what the last one left, and starts an empty ledger. */
  open(): LedgerView {
    const view = { tag: this.tag, groups: [...this.disk.values()] };
    this.disk.clear();
    return view;
  }
}
