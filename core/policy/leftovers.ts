/**
 * What a killed daemon left behind, decided from a table of processes: the one rule the
 * Linux adapter runs over /proc at start-up and the simulator runs over its own kernel.
 *
 * A previous incarnation recorded every process group it started (pgid and the leader's
 * start time) in its ledger, and marked every child's environment with `<tag>:<key>`
 * (the scope marker, inherited by what the child forks). After a `kill -9` its direct
 * children die with it (PDEATHSIG), but what they forked lives on, in their group or in
 * a session of its own. The leftovers are: the live members of each recorded group that
 * is still the same group, and every live process that carries the old tag. Never the
 * new daemon itself, nor any of its ancestors (a daemon restarted from one of its own
 * services). A process is named by its pid and its start time, so a pid reused since is
 * never taken for the process that had it. See docs/ARCHITECTURE.md (core/policy).
 */

/** One process as the table shows it (a subset of /proc/<pid>/stat). */
export interface ProcEntry {
  pid: number;
  ppid: number;
  /** Process group id. */
  pgid: number;
  /** Start time, in any unit that orders processes by when they started (clock ticks). */
  startTicks: number;
  /** The state letter of /proc/<pid>/stat; 'Z' is a zombie (already dead). */
  state: string;
}

export type ProcTableView = ReadonlyMap<number, ProcEntry>;

/** A process group as the ledger records it. */
export interface GroupRecord {
  /** The process group id: the pid of the process that led it. */
  pgid: number;
  /** The leader's start time. */
  startTicks: number;
}

export interface LedgerView {
  /** The scope marker's prefix the previous incarnation gave its children. */
  tag: string;
  groups: readonly GroupRecord[];
}

/**
 * The live members of a recorded group, if they still belong to it: its leader is the
 * recorded process (same start time), or, the leader gone, no member started before it
 * (a group id is only reused once the group has emptied and a new process got the pid).
 * Empty: nothing of that group to signal.
 */
export function groupMembers(table: ProcTableView, g: GroupRecord): ProcEntry[] {
  const leader = table.get(g.pgid);
  if (leader && leader.startTicks !== g.startTicks) return []; // the pid was reused
  const members: ProcEntry[] = [];
  for (const p of table.values()) {
    if (p.pgid !== g.pgid || p.state === 'Z') continue;
    if (p.startTicks < g.startTicks) return []; // an older process leads a newer group
    members.push(p);
  }
  return members;
}

/**
 * The pids to end: recorded groups' live members and the processes marked with the old
 * tag (`scopeOf` reads a process's marker, null when it has none or cannot be read),
 * minus `selfPid` and its ancestors. In table order, without duplicates.
 */
export type LeftoversRule = typeof leftovers;

export function leftovers(
  ledger: LedgerView,
  table: ProcTableView,
  selfPid: number,
  scopeOf: (pid: number) => string | null,
): number[] {
  const victims = new Set<number>();
  for (const g of ledger.groups) {
    for (const p of groupMembers(table, g)) victims.add(p.pid);
  }
  const prefix = `${ledger.tag}:`;
  for (const p of table.values()) {
    if (p.state === 'Z' || victims.has(p.pid)) continue;
    if (scopeOf(p.pid)?.startsWith(prefix)) victims.add(p.pid);
  }
  // Up the parent chain; a table read while processes come and go may hold a loop.
  const seen = new Set<number>();
  for (let p = table.get(selfPid); p !== undefined && !seen.has(p.pid); p = table.get(p.ppid)) {
    seen.add(p.pid);
    victims.delete(p.pid);
  }
  return [...victims];
}
