/**
 * The process ledger: every process group shipote starts (pgid and the leader's start
 * time) in a small JSON file beside the state, plus the tag the children's scope marker
 * carries (trees.ts). Appended to as groups start and end, and rewritten whole (temp file
 * and rename) when it has grown; a daemon killed with -9 leaves every line it wrote. A new
 * incarnation reads it before anything starts and ends what the previous one left
 * (`sweepLeftovers`): it ends them rather than adopting them, because a process that is
 * not our child cannot be watched through a pidfd exit, its capture pipes are gone, and
 * its readiness is unknown; restore then relaunches the services cleanly.
 */

import { closeSync, constants, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { leftovers as decideLeftovers } from '../../core/policy/leftovers.js';
import { randomBytes } from '../store/random.js';
import { writeSmallFile } from '../store/small-file.js';
import {
  type GroupRecord,
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

/**
 * The ledger on disk; a missing or unreadable file reads as empty with a fresh tag. The
 * file is a header line `{"version":2,"tag":…}` followed by one line per change,
 * `{"op":"+",pgid,startTicks,key}` or `{"op":"-",pgid,startTicks}`; a torn last line (a
 * crash of the machine, not of the daemon: a write(2) of one line is whole once it
 * returns) is ignored. The version 1 layout (one JSON object) is still read.
 */
export function readLedger(path: string): LedgerFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return { version: 1, tag: newTag(), groups: [] };
  }
  const lines = text.split('\n');
  const header = parseLine(lines[0] ?? '') as { version?: unknown; tag?: unknown } | null;
  if (header?.version === 1) return fromVersion1(header as Partial<LedgerFile>);
  if (header?.version !== 2 || typeof header.tag !== 'string') {
    return { version: 1, tag: newTag(), groups: [] };
  }
  const groups = new Map<string, LedgerGroup>();
  for (const line of lines.slice(1)) {
    const change = parseLine(line) as (Partial<LedgerGroup> & { op?: unknown }) | null;
    if (change === null || !isGroup(change)) continue;
    const id = `${change.pgid}:${change.startTicks}`;
    const { op, key } = change as { op?: unknown; key?: unknown };
    if (op === '+' && typeof key === 'string') {
      groups.set(id, { pgid: change.pgid, startTicks: change.startTicks, key });
    } else if (op === '-') {
      groups.delete(id);
    }
  }
  return { version: 1, tag: header.tag, groups: [...groups.values()] };
}

function parseLine(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return null; // empty, or torn
  }
}

function isGroup(g: Partial<LedgerGroup>): g is LedgerGroup {
  return (
    Number.isSafeInteger(g.pgid) && (g.pgid as number) > 1 && Number.isSafeInteger(g.startTicks)
  );
}

function fromVersion1(raw: Partial<LedgerFile>): LedgerFile {
  if (typeof raw.tag !== 'string' || !Array.isArray(raw.groups)) {
    return { version: 1, tag: newTag(), groups: [] };
  }
  const groups = raw.groups.filter((g) => isGroup(g ?? {}) && typeof g.key === 'string');
  return { version: 1, tag: raw.tag, groups };
}

/** The whole ledger in one file, atomically (temp file and rename). */
export function writeLedger(path: string, ledger: LedgerFile): boolean {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const lines = [JSON.stringify({ version: 2, tag: ledger.tag })];
  for (const g of ledger.groups) lines.push(changeLine('+', g));
  return writeSmallFile(path, `${lines.join('\n')}\n`);
}

function changeLine(op: '+' | '-', g: LedgerGroup): string {
  const { pgid, startTicks, key } = g;
  return JSON.stringify(op === '+' ? { op, pgid, startTicks, key } : { op, pgid, startTicks });
}

/** Appended change lines beyond this many per live group (plus a floor) rewrite the file. */
const COMPACT_FACTOR = 4;
const COMPACT_FLOOR = 256;

/**
 * The ledger of a running kernel adapter: a group is appended as it is recorded, in the
 * same call (one write(2) of one line, a few microseconds: no window between a spawn and
 * its record), and a released group as a removal line; the file is rewritten whole once
 * the removals outweigh what is live. A daemon killed with -9 leaves every line it wrote:
 * the page cache holds them. Appends that fail (a full disk) are retried by the next
 * rewrite; the children die with the daemon (PDEATHSIG) and what they forked carries the
 * scope marker the sweep finds.
 */
export class Ledger {
  readonly tag: string;
  private readonly groups = new Map<string, LedgerGroup>(); // `${pgid}:${startTicks}` →
  private fd: number | null = null;
  private appended = 0;
  private stale = false;

  constructor(
    readonly path: string,
    tag: string,
  ) {
    this.tag = tag;
    this.rewrite();
  }

  /** Records `group`; the groups `forgetting` matches go in the same write. */
  record(group: LedgerGroup, forgetting?: (g: LedgerGroup) => boolean): void {
    const lines = forgetting ? this.remove(forgetting) : [];
    this.groups.set(`${group.pgid}:${group.startTicks}`, group);
    lines.push(changeLine('+', group));
    this.append(lines.join('\n'));
  }

  forget(match: (g: LedgerGroup) => boolean): void {
    const lines = this.remove(match);
    if (lines.length > 0) this.append(lines.join('\n'));
  }

  private remove(match: (g: LedgerGroup) => boolean): string[] {
    const lines: string[] = [];
    for (const [id, g] of this.groups) {
      if (match(g) && this.groups.delete(id)) lines.push(changeLine('-', g));
    }
    return lines;
  }

  /** Rewrites the file whole now (the daemon's graceful shutdown). */
  flush(): void {
    this.rewrite();
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  private append(lines: string): void {
    const limit = COMPACT_FLOOR + COMPACT_FACTOR * this.groups.size;
    if (this.stale || this.fd === null || this.appended >= limit) {
      this.rewrite();
      return;
    }
    try {
      writeSync(this.fd, `${lines}\n`);
      this.appended += 1;
    } catch {
      this.stale = true; // a torn append: the next change rewrites the whole file
    }
  }

  private rewrite(): void {
    this.close();
    const groups = [...this.groups.values()];
    this.stale = !writeLedger(this.path, { version: 1, tag: this.tag, groups });
    this.appended = 0;
    if (this.stale) return;
    try {
      this.fd = openSync(this.path, appendFlags);
    } catch {
      this.stale = true;
    }
  }
}

const appendFlags = constants.O_WRONLY | constants.O_APPEND | constants.O_NOFOLLOW;

/** What a previous incarnation left: ledger groups still ours, and marked processes. */
export function leftovers(ledger: LedgerFile, table: ProcTable, selfPid: number): number[] {
  return decideLeftovers(ledger, table, selfPid, scopeOf);
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
