/**
 * SimStore — the snapshot file behind the `Store` port, in memory.
 *
 * The real store writes a temp file, fsyncs, renames over the old one and fsyncs the
 * directory, so a crash at any point leaves either the old text or the new one, whole.
 * Fault model:
 * - `store-fail`: the write fails (ENOSPC) and returns an error; the old text stays.
 *   Survivable: the engine stays dirty and writes again later.
 * - `store-crash`: the daemon dies in the middle of the write, before the rename (the
 *   old text stays whole) or just after it (the new text is whole, but the write never
 *   returned). The daemon is dead from that instant (its port calls are refused) and the
 *   runner restores a new one from whatever text is there; an unacknowledged change may
 *   or may not survive, an acknowledged one must.
 * Reads never fail. `setAside` moves the text away, as a corrupt file would be.
 */

import type { PortResult, Store, StoreRead } from '../core/ports.js';
import type { Faults } from './faults.js';
import type { Trace } from './trace.js';

export interface WriteRecord {
  atMs: number;
  gen: number;
  ok: boolean;
}

export class SimStore {
  text: string | null = null;
  readonly writes: WriteRecord[] = [];
  readonly asides: { reason: string; text: string }[] = [];

  constructor(
    private readonly faults: Faults,
    private readonly trace: Trace,
    private readonly nowMs: () => number,
    private readonly isAlive: (gen: number) => boolean,
    /** Kill daemon `gen` now (a crash mid-write). */
    private readonly crash: (gen: number) => void,
  ) {}

  /** Time of the last write that succeeded, or null. */
  lastOkWriteMs(): number | null {
    for (let i = this.writes.length - 1; i >= 0; i--) {
      const w = this.writes[i];
      if (w?.ok) return w.atMs;
    }
    return null;
  }

  port(gen: number): Store {
    return {
      read: () => this.read(),
      write: (text) => this.write(gen, text),
      setAside: (reason) => this.setAside(reason),
    };
  }

  private read(): StoreRead {
    return this.text === null ? { kind: 'empty' } : { kind: 'text', text: this.text };
  }

  private write(gen: number, text: string): PortResult<true> {
    const fail = (message: string, reason: 'Unknown' | 'LimitExceeded'): PortResult<true> => {
      this.writes.push({ atMs: this.nowMs(), gen, ok: false });
      return {
        ok: false,
        error: { _tag: 'PortError', port: 'Store', method: 'write', reason, message },
      };
    };
    if (!this.isAlive(gen)) return fail('daemon is gone', 'Unknown');
    if (this.faults.roll('store-fail')) {
      this.trace.add(() => 'fault store-fail: write refused, old snapshot kept');
      return fail('write state.json.tmp: No space left on device', 'LimitExceeded');
    }
    if (this.faults.roll('store-crash')) {
      // Before the rename the old file stays; after it the new one is whole. Either way
      // the daemon never learns the outcome.
      const renamed = this.faults.amount(0, 1) === 1;
      if (renamed) this.text = text;
      const kept = renamed ? 'new snapshot renamed in' : 'old snapshot kept';
      this.trace.add(() => `fault store-crash: daemon dies mid-write, ${kept}`);
      this.crash(gen);
      return fail('daemon crashed during write', 'Unknown');
    }
    this.text = text;
    this.writes.push({ atMs: this.nowMs(), gen, ok: true });
    this.trace.add(() => `store write ok (${text.length} bytes)`);
    return { ok: true, value: true };
  }

  private setAside(reason: string): PortResult<{ path: string }> {
    if (this.text === null) {
      return {
        ok: false,
        error: {
          _tag: 'PortError',
          port: 'Store',
          method: 'setAside',
          reason: 'NotFound',
          message: 'no state file',
        },
      };
    }
    this.asides.push({ reason, text: this.text });
    this.text = null;
    this.trace.add(() => `store set aside: ${reason}`);
    return { ok: true, value: { path: `/sim/state.json.aside-${this.asides.length}` } };
  }
}
