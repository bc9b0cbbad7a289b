/**
 * Process trees of the commands and pipelines the kernel adapter starts (by their root
 * key: a command id, or a pipeline's key for every node). A signal for one of their pids
 * reaches:
 *  - every process group started for the root (a lone command's session, a pipeline's
 *    group led by node 0), with kill(-pgid), whether or not the leader still lives; a
 *    group is signalled only while its leader is the recorded process (start time) or,
 *    the leader gone, while no member predates it (trees.ts groupMembers);
 *  - the tracked pids themselves (a node in its own pid namespace leads its own group);
 *  - strays: processes below those pids that left the groups (setsid), and orphans
 *    re-parented to the daemon (child subreaper) whose scope marker names the root.
 * The /proc snapshot is taken once per loop turn (a stop of 200 services scans once).
 *
 * What a root leaves behind after its processes exited (a daemonized grandchild) lives on,
 * as it would in the workspace's cgroup, until the root is released (its workspace
 * stopped, or the pipeline restarted): release kills it, as cgroup.kill would.
 */

import { readdirSync, readFileSync } from 'node:fs';
import { randomBytes } from '../store/random.js';
import type { NativeAddon } from './addon.js';
import { withEnv } from './envelope.js';
import type { Ledger, LedgerGroup } from './ledger.js';
import {
  type GroupRecord,
  groupMembers,
  type ProcTable,
  SCOPE_ENV,
  scanProcs,
  scopeOf,
  subtree,
} from './trees.js';

interface Root {
  pids: Set<number>;
  groups: GroupRecord[];
}

/** A process named by pid and start time. */
interface Named {
  pid: number;
  startTicks: number;
}

const SIGKILL = 9;

export class ProcessTrees {
  readonly tag: string;
  private readonly roots = new Map<string, Root>();
  private readonly rootOfPid = new Map<number, string>();
  private table: ProcTable | null = null;
  private untracked: number | null | undefined = undefined;
  /** `${root}:${signo}` sent this loop turn (a pipeline's nodes are signalled one by one). */
  private readonly sentThisTurn = new Set<string>();
  /** Scope markers of orphans, by `${pid}:${startTicks}` (read once per process). */
  private readonly scopes = new Map<string, string | null>();

  constructor(
    private readonly native: Pick<NativeAddon, 'signal' | 'kill'>,
    private readonly ledger: Ledger | null,
    private readonly isLive: (pid: number) => boolean,
  ) {
    this.tag = ledger?.tag ?? randomBytes(8).toString('hex');
  }

  /** The child's environment with the scope marker of `root`. */
  mark(envp: string[], root: string): string[] {
    return withEnv(envp, SCOPE_ENV, `${this.tag}:${root}`);
  }

  /** A process was started for `root`; `leads`: it leads a new process group. */
  started(root: string, pid: number, leads: boolean, startTicks: number): void {
    let r = this.roots.get(root);
    if (!r) {
      r = { pids: new Set(), groups: [] };
      this.roots.set(root, r);
    }
    r.pids.add(pid);
    this.rootOfPid.set(pid, root);
    if (!leads) return;
    // The groups of earlier processes of `root` that are empty now leave the record in the
    // same write that adds this one.
    const gone = this.forgetDead(root, r);
    // Recorded before the spawn returns (one appended write): a daemon killed right after
    // leaves the group on record. The start time comes with the spawn: the addon reads
    // /proc right after the clone (-1 when it could not, and then no group is kept).
    if (startTicks >= 0) {
      const group = { pgid: pid, startTicks };
      r.groups.push(group);
      this.ledger?.record({ ...group, key: root }, gone ?? undefined);
    } else if (gone) {
      this.ledger?.forget(gone);
    }
  }

  /**
   * Signals the tree `pid` belongs to. False when the pid is not one we started (the
   * caller signals it alone).
   */
  signalTreeOf(pid: number, signo: number): boolean {
    const root = this.rootOfPid.get(pid);
    if (root === undefined) return false;
    const turn = `${root}:${signo}`;
    if (this.sentThisTurn.has(turn)) return true;
    if (this.sentThisTurn.size === 0) setImmediate(() => this.sentThisTurn.clear());
    this.sentThisTurn.add(turn);
    this.signalRoot(root, signo, () => true);
    return true;
  }

  /** The engine released `root`: whatever of it still runs (not tracked) is killed. */
  release(root: string): void {
    const r = this.roots.get(root);
    if (!r) return;
    if (this.mayLeaveStrays(r)) this.signalRoot(root, SIGKILL, (pid) => !this.isLive(pid));
    for (const pid of r.pids) this.rootOfPid.delete(pid);
    this.roots.delete(root);
    this.ledger?.forget((g) => g.key === root);
  }

  /** Shutdown: every tree is killed and the ledger emptied. */
  close(): void {
    for (const root of [...this.roots.keys()]) {
      this.signalRoot(root, SIGKILL, () => true);
      this.roots.delete(root);
    }
    this.rootOfPid.clear();
    this.ledger?.forget(() => true);
    this.ledger?.flush();
  }

  /** Signals everything of `root` that `may` allows; returns what it signalled. */
  private signalRoot(root: string, signo: number, may: (pid: number) => boolean): Named[] {
    const r = this.roots.get(root);
    if (!r) return [];
    const table = this.snapshot();
    const done = new Map<number, Named>();
    for (const g of r.groups) {
      const members = groupMembers(table, g);
      if (members.length === 0 || !members.every((m) => may(m.pid))) continue;
      this.native.kill(-g.pgid, signo); // ESRCH: gone; EPERM: not ours
      for (const m of members) done.set(m.pid, m);
    }
    for (const pid of r.pids) {
      const p = table.get(pid);
      if (!done.has(pid) && this.isLive(pid) && may(pid)) {
        this.native.signal(pid, signo);
        done.set(pid, { pid, startTicks: p?.startTicks ?? 0 });
      }
    }
    for (const p of this.strays(root, r, table)) {
      if (!done.has(p.pid) && may(p.pid) && p.state !== 'Z') {
        this.native.kill(p.pid, signo);
        done.set(p.pid, p);
      }
    }
    return [...done.values()];
  }

  private scopeOfProc(p: Named): string | null {
    const id = `${p.pid}:${p.startTicks}`;
    let scope = this.scopes.get(id);
    if (scope === undefined) {
      scope = scopeOf(p.pid);
      this.scopes.set(id, scope);
    }
    return scope;
  }

  /** Processes below the root's live pids and its orphans (subreaper children). */
  private strays(root: string, r: Root, table: ProcTable) {
    const self = process.pid;
    const want = `${this.tag}:${root}`;
    const tops = [...r.pids].filter((pid) => this.isLive(pid));
    for (const p of table.values()) {
      if (p.ppid !== self || this.isLive(p.pid) || p.state === 'Z') continue;
      if (this.scopeOfProc(p) === want) tops.push(p.pid);
    }
    return subtree(table, tops);
  }

  /** kill(-pgid, 0) through the addon: no exception for a group that is gone (ESRCH). */
  private groupLives(pgid: number): boolean {
    return this.native.kill(-pgid, 0) === 0;
  }

  /**
   * Drops the exited pids and emptied groups of a previous incarnation of `root`. A group
   * is empty when kill(-pgid, 0) finds no member (one syscall, no /proc scan: a restart
   * stays cheap). A group id that was reused keeps its record a while longer; that is
   * harmless, signalling checks the start time. Returns the ledger match of the emptied
   * groups, for the caller's write (null: none emptied).
   */
  private forgetDead(root: string, r: Root): ((g: LedgerGroup) => boolean) | null {
    for (const pid of r.pids) {
      if (!this.isLive(pid)) {
        r.pids.delete(pid);
        this.rootOfPid.delete(pid);
      }
    }
    const empty = r.groups.filter((g) => !this.groupLives(g.pgid));
    if (empty.length === 0) return null;
    r.groups = r.groups.filter((g) => !empty.includes(g));
    return (g) => g.key === root && empty.some((e) => e.pgid === g.pgid);
  }

  /**
   * False only when nothing of `r` can be left to kill: none of its pids lives, none of
   * its groups has a member (kill(-pgid, 0)), and every child of the daemon is one it
   * tracks (no orphan re-parented to it). Spares the /proc scan for each of the services
   * of a stopped workspace whose processes all exited (each released one by one).
   */
  private mayLeaveStrays(r: Root): boolean {
    for (const pid of r.pids) if (this.isLive(pid)) return true;
    if (r.groups.some((g) => this.groupLives(g.pgid))) return true;
    const untracked = this.untrackedChildren();
    return untracked === null || untracked > 0;
  }

  /**
   * How many children of the daemon (every thread's) it does not track, once per loop
   * turn; null if unreadable. Counted when read: a tracked child that exits later in the
   * turn is still ours.
   */
  private untrackedChildren(): number | null {
    if (this.untracked !== undefined) return this.untracked;
    const children = readChildren();
    this.untracked = children === null ? null : children.filter((p) => !this.isLive(p)).length;
    setImmediate(() => {
      this.untracked = undefined;
    });
    return this.untracked;
  }

  /** /proc, read at most once per loop turn. */
  private snapshot(): ProcTable {
    if (this.table) return this.table;
    const table = scanProcs();
    this.table = table;
    setImmediate(() => {
      this.table = null;
    });
    for (const id of this.scopes.keys()) {
      const pid = Number(id.slice(0, id.indexOf(':')));
      if (!table.has(pid)) this.scopes.delete(id);
    }
    return table;
  }
}

/** `/proc/self/task/<tid>/children` of every thread: the daemon's live and zombie children. */
function readChildren(): number[] | null {
  try {
    const out: number[] = [];
    for (const tid of readdirSync('/proc/self/task')) {
      const text = readFileSync(`/proc/self/task/${tid}/children`, 'utf8');
      for (const pid of text.split(' ')) if (pid !== '') out.push(Number(pid));
    }
    return out;
  } catch {
    return null; // no CONFIG_PROC_CHILDREN, or a thread gone mid-read: scan instead
  }
}
