/**
 * The process ledger: every process group shipote starts (pgid and the leader's start
 * time) in a small JSON file beside the state, plus the tag the children's scope marker
 * carries (trees.ts). Written whole to a temporary file and renamed over the old one, so
 * a daemon killed with -9 leaves either the previous or the new ledger, whole. A new
 * incarnation reads it before anything starts and ends what the previous one left
 * (`sweepLeftovers`): it ends them rather than adopting them, because a process that is
 * not our child cannot be watched through a pidfd exit, its capture pipes are gone, and
 * its readiness is unknown; restore then relaunches the services cleanly.
 */

import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  type GroupRecord,
  groupMembers,
  killQuietly,
  type ProcTable,
  readPidStat,
  scanProcs,
  scopeOf,
} from './trees.js';

export interface LedgerGroup extends GroupRecord {
  /** The command or pipeline key the group was started for. */
  key: string;
}

export interface LedgerFile {
  version: 1;
  tag: string;
  groups: LedgerGroup[];
}

/** The ledger that goes with a state file: `<state>.ledger`. */
export function ledgerPathFor(statePath: string): string {
  return `${statePath}.ledger`;
}

function newTag(): string {
  return randomBytes(8).toString('hex');
}

/** The ledger on disk; a missing or unreadable file reads as empty with a fresh tag. */
export function readLedger(path: string): LedgerFile {
  try {
    const raw = JSON.parse(readFileSync(path, 'utf8')) as Partial<LedgerFile>;
    if (raw.version === 1 && typeof raw.tag === 'string' && Array.isArray(raw.groups)) {
      const groups = raw.groups.filter(
        (g) =>
          Number.isSafeInteger(g?.pgid) &&
          g.pgid > 1 &&
          Number.isSafeInteger(g.startTicks) &&
          typeof g.key === 'string',
      );
      return { version: 1, tag: raw.tag, groups };
    }
  } catch {
    // no ledger yet, or a torn file from a crash before the first rename: start afresh
  }
  return { version: 1, tag: newTag(), groups: [] };
}

export function writeLedger(path: string, ledger: LedgerFile): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(ledger)}\n`, { mode: 0o600 });
  renameSync(tmp, path);
}

/**
 * The ledger of a running kernel adapter: groups are recorded as they start and dropped
 * once released; writes are coalesced to one per loop turn (a burst of 200 spawns writes
 * once), and to one per `LEDGER_WRITE_GAP_MS` while changes keep coming (a worker starting
 * hundreds of tasks a second: a replacing rename costs 0.5-2 ms on ext4). A crash before
 * the write loses the newest records only; the children die with the daemon (PDEATHSIG)
 * and what they forked carries the scope marker the sweep finds.
 */
export const LEDGER_WRITE_GAP_MS = 50;

export class Ledger {
  readonly tag: string;
  private readonly groups = new Map<string, LedgerGroup>(); // `${pgid}:${startTicks}` →
  private pending = false;
  private lastWriteMs = Number.NEGATIVE_INFINITY;

  constructor(
    readonly path: string,
    tag: string,
  ) {
    this.tag = tag;
    writeLedger(path, { version: 1, tag, groups: [] });
  }

  record(group: LedgerGroup): void {
    this.groups.set(`${group.pgid}:${group.startTicks}`, group);
    this.schedule();
  }

  forget(match: (g: LedgerGroup) => boolean): void {
    let changed = false;
    for (const [id, g] of this.groups) {
      if (match(g)) changed = this.groups.delete(id) || changed;
    }
    if (changed) this.schedule();
  }

  /** Writes now (the daemon's graceful shutdown). */
  flush(): void {
    this.pending = false;
    this.lastWriteMs = performance.now();
    writeLedger(this.path, { version: 1, tag: this.tag, groups: [...this.groups.values()] });
  }

  private schedule(): void {
    if (this.pending) return;
    this.pending = true;
    const write = () => {
      if (this.pending) this.flush();
    };
    const waitMs = this.lastWriteMs + LEDGER_WRITE_GAP_MS - performance.now();
    if (waitMs <= 0) setImmediate(write);
    else setTimeout(write, Math.ceil(waitMs));
  }
}

/** What a previous incarnation left: ledger groups still ours, and marked processes. */
export function leftovers(ledger: LedgerFile, table: ProcTable, selfPid: number): number[] {
  const victims = new Set<number>();
  for (const g of ledger.groups) {
    for (const p of groupMembers(table, g)) victims.add(p.pid);
  }
  const prefix = `${ledger.tag}:`;
  for (const p of table.values()) {
    if (p.state === 'Z' || victims.has(p.pid)) continue;
    if (scopeOf(p.pid)?.startsWith(prefix)) victims.add(p.pid);
  }
  // Never ourselves, nor what started us (a daemon restarted from one of its services).
  for (let p = table.get(selfPid); p !== undefined; p = table.get(p.ppid)) {
    victims.delete(p.pid);
    if (p.ppid === p.pid) break;
  }
  return [...victims];
}

export interface SweepOptions {
  ledgerPath: string;
  /** TERM, then this long for them to go, then KILL. */
  graceMs?: number;
  log?: (line: string) => void;
}

/**
 * Ends what the previous incarnation left (TERM, a short grace, KILL) and returns the
 * ledger tag to keep using, with the number of processes ended. Processes are named by
 * pid and start time: one that exited meanwhile and whose pid was reused is not touched.
 */
export async function sweepLeftovers(opts: SweepOptions): Promise<{ tag: string; ended: number }> {
  const ledger = readLedger(opts.ledgerPath);
  const table = scanProcs();
  const victims = leftovers(ledger, table, process.pid).map((pid) => ({
    pid,
    startTicks: table.get(pid)!.startTicks,
  }));
  const alive = () =>
    victims.filter((v) => {
      const now = readPidStat(v.pid);
      return now !== null && now.startTicks === v.startTicks && now.state !== 'Z';
    });
  for (const v of alive()) killQuietly(v.pid, 'SIGTERM');
  const untilMs = Date.now() + (opts.graceMs ?? 500);
  while (alive().length > 0 && Date.now() < untilMs) {
    await new Promise((r) => setTimeout(r, 20));
  }
  const stubborn = alive();
  for (const v of stubborn) killQuietly(v.pid, 'SIGKILL');
  if (victims.length > 0) {
    opts.log?.(
      `ended ${victims.length} process(es) left by the previous daemon` +
        (stubborn.length > 0 ? ` (${stubborn.length} needed SIGKILL)` : ''),
    );
  }
  return { tag: ledger.tag, ended: victims.length };
}
