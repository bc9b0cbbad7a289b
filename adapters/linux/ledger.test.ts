import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ledger, leftovers, readLedger } from './ledger.js';
import type { PidStat } from './proc-stats.js';
import type { ProcTable } from './trees.js';

// Pids above the kernel's pid_max (2^22): no /proc entry, so no scope marker is read.
const BASE = 2 ** 22 + 100;

function proc(pid: number, over: Partial<PidStat> = {}): PidStat {
  return { pid, state: 'S', ppid: 1, pgid: pid, sid: pid, cpuTicks: 0, startTicks: 500, ...over };
}

const table = (...procs: PidStat[]): ProcTable => new Map(procs.map((p) => [p.pid, p]));

describe('leftovers of a previous incarnation', () => {
  const ledger = (groups: { pgid: number; startTicks: number }[]) => ({
    version: 1 as const,
    tag: 'feed',
    groups: groups.map((g) => ({ ...g, key: 'k' })),
  });

  it('ends a recorded group whose leader is the recorded process', () => {
    const t = table(proc(BASE), proc(BASE + 1, { pgid: BASE, startTicks: 600 }));
    expect(leftovers(ledger([{ pgid: BASE, startTicks: 500 }]), t, 1).sort()).toEqual([
      BASE,
      BASE + 1,
    ]);
  });

  it('ends the members of a recorded group whose leader is gone', () => {
    const t = table(proc(BASE + 1, { pgid: BASE, startTicks: 600 }));
    expect(leftovers(ledger([{ pgid: BASE, startTicks: 500 }]), t, 1)).toEqual([BASE + 1]);
  });

  it('leaves a reused pid alone: same pgid, another start time', () => {
    const t = table(proc(BASE, { startTicks: 900 }), proc(BASE + 1, { pgid: BASE }));
    expect(leftovers(ledger([{ pgid: BASE, startTicks: 500 }]), t, 1)).toEqual([]);
  });

  it('leaves a group alone when a member predates the recorded leader', () => {
    const t = table(proc(BASE + 1, { pgid: BASE, startTicks: 400 }));
    expect(leftovers(ledger([{ pgid: BASE, startTicks: 500 }]), t, 1)).toEqual([]);
  });

  it('never ends itself nor what started it', () => {
    const self = proc(BASE + 2, { pgid: BASE, ppid: BASE + 1, startTicks: 700 });
    const parent = proc(BASE + 1, { pgid: BASE, ppid: 1, startTicks: 600 });
    const t = table(proc(BASE), parent, self);
    expect(leftovers(ledger([{ pgid: BASE, startTicks: 500 }]), t, BASE + 2)).toEqual([BASE]);
  });
});

describe('the ledger file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shipote-ledger-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a missing or torn file as empty, with a fresh tag', () => {
    const torn = join(dir, 'torn.ledger');
    writeFileSync(torn, '{"version":1,"tag":"ab","gro');
    for (const path of [join(dir, 'none.ledger'), torn]) {
      const l = readLedger(path);
      expect(l.groups).toEqual([]);
      expect(l.tag).toMatch(/^[0-9a-f]{16}$/);
    }
  });

  it('records a group in the same call, keeps the tag, and forgets released keys', () => {
    const path = join(dir, 'state.json.ledger');
    const l = new Ledger(path, 'cafe');
    l.record({ pgid: 10, startTicks: 1, key: 'a' });
    l.record({ pgid: 11, startTicks: 2, key: 'b' });
    expect(readLedger(path)).toEqual({
      version: 1,
      tag: 'cafe',
      groups: [
        { pgid: 10, startTicks: 1, key: 'a' },
        { pgid: 11, startTicks: 2, key: 'b' },
      ],
    });
    l.forget((g) => g.key === 'a');
    expect(readLedger(path).groups).toEqual([{ pgid: 11, startTicks: 2, key: 'b' }]);
    l.flush();
    expect(readFileSync(path, 'utf8').trim().split('\n')).toHaveLength(2); // header + one
    expect(readLedger(path).groups).toEqual([{ pgid: 11, startTicks: 2, key: 'b' }]);
    l.close();
  });

  it('records a group and forgets the emptied ones of its key in one appended write', () => {
    const path = join(dir, 'replace.ledger');
    const l = new Ledger(path, 'cafe');
    l.record({ pgid: 10, startTicks: 1, key: 'w' });
    l.record({ pgid: 20, startTicks: 1, key: 'other' });
    const before = readFileSync(path, 'utf8');
    l.record({ pgid: 11, startTicks: 2, key: 'w' }, (g) => g.key === 'w' && g.pgid === 10);
    const added = readFileSync(path, 'utf8').slice(before.length);
    expect(
      added
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line).op),
    ).toEqual(['-', '+']);
    expect(readLedger(path).groups).toEqual([
      { pgid: 20, startTicks: 1, key: 'other' },
      { pgid: 11, startTicks: 2, key: 'w' },
    ]);
    l.close();
  });

  it('ignores a torn last line and still reads the version 1 layout', () => {
    const path = join(dir, 'torn2.ledger');
    const l = new Ledger(path, 'beef');
    l.record({ pgid: 20, startTicks: 5, key: 'x' });
    l.close();
    writeFileSync(path, `${readFileSync(path, 'utf8')}{"op":"+","pgid":21,"sta`);
    expect(readLedger(path)).toEqual({
      version: 1,
      tag: 'beef',
      groups: [{ pgid: 20, startTicks: 5, key: 'x' }],
    });
    const v1 = join(dir, 'v1.ledger');
    writeFileSync(v1, '{"version":1,"tag":"ab","groups":[{"pgid":30,"startTicks":1,"key":"k"}]}\n');
    expect(readLedger(v1)).toEqual({
      version: 1,
      tag: 'ab',
      groups: [{ pgid: 30, startTicks: 1, key: 'k' }],
    });
  });

  it('rewrites the file once removals outweigh what is live: it stays small', () => {
    const path = join(dir, 'churn.ledger');
    const l = new Ledger(path, 'f00d');
    for (let i = 0; i < 5000; i++) {
      l.record({ pgid: 100 + i, startTicks: i, key: `k${i}` });
      l.forget((g) => g.key === `k${i}`);
    }
    l.record({ pgid: 9, startTicks: 9, key: 'last' });
    expect(readLedger(path).groups).toEqual([{ pgid: 9, startTicks: 9, key: 'last' }]);
    expect(readFileSync(path, 'utf8').split('\n').length).toBeLessThan(300);
    l.close();
  });
});
