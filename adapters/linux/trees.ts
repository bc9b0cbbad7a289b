/**
 * Process trees without cgroups: a snapshot of /proc (pid, ppid, process group, session,
 * start time) and the scope marker every child of shipote inherits. A process is named by
 * its pid AND its start time (/proc/<pid>/stat field 22), so a reused pid is never taken
 * for the process that had it.
 *
 * The marker: each child gets `SHIPOTE_SCOPE=<ledger tag>:<key>` in its environment, and
 * what it forks inherits it. It attributes the processes that leave their process group
 * (setsid) to the command or pipeline they came from: when they are re-parented to the
 * daemon (a child subreaper), or left behind by a daemon that was killed.
 */

import { readdirSync } from 'node:fs';
import { type PidStat, parsePidStat, readText } from './proc-stats.js';

export const SCOPE_ENV = 'SHIPOTE_SCOPE';

export type ProcTable = Map<number, PidStat>;

export function readPidStat(pid: number): PidStat | null {
  const text = readText(`/proc/${pid}/stat`);
  return text ? parsePidStat(text) : null;
}

/** Every process visible in /proc, zombies included (their state says so). */
export function scanProcs(): ProcTable {
  const table: ProcTable = new Map();
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return table;
  }
  for (const name of names) {
    const first = name.charCodeAt(0);
    if (first < 48 || first > 57) continue; // not a pid directory
    const stat = readPidStat(Number(name));
    if (stat) table.set(stat.pid, stat);
  }
  return table;
}

/** `<tag>:<key>` from the process's environment, or null (gone, not ours to read, none). */
export function scopeOf(pid: number): string | null {
  const text = readText(`/proc/${pid}/environ`);
  if (!text) return null;
  const prefix = `${SCOPE_ENV}=`;
  for (const kv of text.split('\0')) {
    if (kv.startsWith(prefix)) return kv.slice(prefix.length);
  }
  return null;
}

/** The processes under `roots` (the roots included), following ppid links. */
export function subtree(table: ProcTable, roots: Iterable<number>): PidStat[] {
  const children = new Map<number, number[]>();
  for (const p of table.values()) {
    const list = children.get(p.ppid);
    if (list) list.push(p.pid);
    else children.set(p.ppid, [p.pid]);
  }
  const out: PidStat[] = [];
  const seen = new Set<number>();
  const queue = [...roots];
  while (queue.length > 0) {
    const pid = queue.pop()!;
    if (seen.has(pid)) continue;
    seen.add(pid);
    const p = table.get(pid);
    if (!p) continue;
    out.push(p);
    queue.push(...(children.get(pid) ?? []));
  }
  return out;
}

export type { GroupRecord } from '../../core/policy/leftovers.js';
export { groupMembers } from '../../core/policy/leftovers.js';

/** kill(2) that treats "already gone" as done. Negative pid: a process group. */
export function killQuietly(pid: number, signal: NodeJS.Signals | number): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false; // ESRCH: gone; EPERM: not ours
  }
}
