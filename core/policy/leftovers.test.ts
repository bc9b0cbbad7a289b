import fc from 'fast-check';
import { type GroupRecord, groupMembers, leftovers, type ProcEntry } from './leftovers.js';

const TAG = 'feed';

interface World {
  table: Map<number, ProcEntry>;
  groups: GroupRecord[];
  scopes: Map<number, string>;
  selfPid: number;
}

/** A random process table (pids 2..40), recorded groups, markers and a daemon pid. */
const worlds: fc.Arbitrary<World> = fc
  .record({
    procs: fc.uniqueArray(
      fc.record({
        pid: fc.integer({ min: 2, max: 40 }),
        ppid: fc.integer({ min: 1, max: 40 }),
        pgid: fc.integer({ min: 2, max: 40 }),
        startTicks: fc.integer({ min: 0, max: 20 }),
        zombie: fc.boolean(),
        scope: fc.constantFrom(null, `${TAG}:a`, 'other:a', TAG),
      }),
      { selector: (p) => p.pid, maxLength: 30 },
    ),
    groups: fc.array(
      fc.record({
        pgid: fc.integer({ min: 2, max: 40 }),
        startTicks: fc.integer({ min: 0, max: 20 }),
      }),
      { maxLength: 6 },
    ),
    selfPid: fc.integer({ min: 2, max: 40 }),
  })
  .map(({ procs, groups, selfPid }) => {
    const table = new Map<number, ProcEntry>();
    const scopes = new Map<number, string>();
    for (const p of procs) {
      const state = p.zombie ? 'Z' : 'S';
      table.set(p.pid, { pid: p.pid, ppid: p.ppid, pgid: p.pgid, startTicks: p.startTicks, state });
      if (p.scope !== null) scopes.set(p.pid, p.scope);
    }
    return { table, groups, scopes, selfPid };
  });

function run(w: World): number[] {
  return leftovers({ tag: TAG, groups: w.groups }, w.table, w.selfPid, (pid) =>
    w.scopes.has(pid) ? (w.scopes.get(pid) as string) : null,
  );
}

function ancestors(w: World): Set<number> {
  const out = new Set<number>();
  for (
    let p = w.table.get(w.selfPid);
    p !== undefined && !out.has(p.pid);
    p = w.table.get(p.ppid)
  ) {
    out.add(p.pid);
  }
  return out;
}

describe('leftovers: the pure rule', () => {
  it('never names the daemon itself nor any of its ancestors', () => {
    fc.assert(
      fc.property(worlds, (w) => {
        const mine = ancestors(w);
        for (const pid of run(w)) expect(mine.has(pid)).toBe(false);
      }),
    );
  });

  it('names only live processes in a still-valid recorded group or marked with the tag', () => {
    fc.assert(
      fc.property(worlds, (w) => {
        for (const pid of run(w)) {
          const p = w.table.get(pid) as ProcEntry;
          expect(p.state).not.toBe('Z');
          const inGroup = w.groups.some((g) => groupMembers(w.table, g).includes(p));
          const marked = w.scopes.get(pid)?.startsWith(`${TAG}:`) ?? false;
          expect(inGroup || marked).toBe(true);
        }
      }),
    );
  });

  it('names every live marked process and every member of a recorded group, but ancestors', () => {
    fc.assert(
      fc.property(worlds, (w) => {
        const got = new Set(run(w));
        const mine = ancestors(w);
        for (const p of w.table.values()) {
          if (p.state === 'Z' || mine.has(p.pid)) continue;
          const marked = w.scopes.get(p.pid)?.startsWith(`${TAG}:`) ?? false;
          const inGroup = w.groups.some((g) => groupMembers(w.table, g).includes(p));
          expect(got.has(p.pid)).toBe(marked || inGroup);
        }
        expect(got.size).toBe(run(w).length); // no duplicates
      }),
    );
  });

  it('never takes a group whose leader pid was reused, or that an older process is in', () => {
    fc.assert(
      fc.property(worlds, (w) => {
        for (const g of w.groups) {
          const members = groupMembers(w.table, g);
          if (members.length === 0) continue;
          const leader = w.table.get(g.pgid);
          if (leader) expect(leader.startTicks).toBe(g.startTicks);
          for (const p of members) {
            expect(p.pgid).toBe(g.pgid);
            expect(p.startTicks).toBeGreaterThanOrEqual(g.startTicks);
          }
        }
      }),
    );
  });

  it('ends even when the parent links loop (a table read while processes come and go)', () => {
    const table = new Map<number, ProcEntry>([
      [10, { pid: 10, ppid: 11, pgid: 10, startTicks: 5, state: 'S' }],
      [11, { pid: 11, ppid: 10, pgid: 10, startTicks: 5, state: 'S' }],
      [12, { pid: 12, ppid: 1, pgid: 12, startTicks: 7, state: 'S' }],
    ]);
    const scopeOf = () => `${TAG}:x`;
    expect(leftovers({ tag: TAG, groups: [] }, table, 10, scopeOf)).toEqual([12]);
  });

  it.each([
    ['the recorded leader and its group', [10, 11], [{ pgid: 10, startTicks: 5 }], []],
    ['members of a group whose leader is gone', [11], [{ pgid: 10, startTicks: 5 }], []],
    ['a marked process in a session of its own', [12], [], [12]],
  ])('names %s', (_t, expected, groups, marked) => {
    const table = new Map<number, ProcEntry>([
      [10, { pid: 10, ppid: 1, pgid: 10, startTicks: 5, state: 'S' }],
      [11, { pid: 11, ppid: 10, pgid: 10, startTicks: 6, state: 'S' }],
      [12, { pid: 12, ppid: 1, pgid: 12, startTicks: 7, state: 'S' }],
    ]);
    if (expected.length === 1 && expected[0] === 11) table.delete(10);
    const scopeOf = (pid: number) => ((marked as number[]).includes(pid) ? `${TAG}:x` : null);
    const got = leftovers({ tag: TAG, groups }, table, 99, scopeOf).sort((a, b) => a - b);
    expect(got).toEqual(expected);
  });
});
