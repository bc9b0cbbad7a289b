import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { LifecycleEvent } from '../../core/ports.js';
import { tempPathFor } from '../store/file-store.js';
import { dayMs } from './retention.js';
import { lastRunPath, retentionGate, type SweepOptions, sweepAtStart } from './sweep.js';

let dir: string;
let events: LifecycleEvent[];
let nowMs: number;
let live: Set<string>;

function options(): SweepOptions {
  return {
    statePath: join(dir, 'state', 'state.json'),
    logRoot: join(dir, 'state', 'logs'),
    socketDir: join(dir, 'run', 'sockets'),
    keepDays: 30,
    liveKeys: () => live,
    wallMs: () => nowMs,
    event: (e) => events.push(e),
    pid: 4242,
  };
}

/** A file (and its parents) last modified `ageDays` before now. */
function file(path: string, ageDays: number): string {
  const full = join(dir, path);
  mkdirSync(join(full, '..'), { recursive: true });
  writeFileSync(full, 'x');
  const t = (nowMs - ageDays * dayMs) / 1000;
  utimesSync(full, t, t);
  return full;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'shipote-sweep-'));
  events = [];
  nowMs = Date.now();
  live = new Set();
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('retention walk', () => {
  it('removes only what is older than keep_days and not live, each as an event', () => {
    const oldDead = file('state/logs/CMDOLD/stdout.log', 31);
    const young = file('state/logs/CMDNEW/stdout.log', 2);
    const oldLive = file('state/logs/CMDLIVE/stdout.log', 90);
    const oldNode = file('state/logs/PIPE/0/stdout.log', 40);
    const aside = file('state/state.json.corrupt-20260101T000000.000Z', 31);
    const freshAside = file('state/state.json.newer-20260101T000000.000Z', 3);
    const snapshot = file('state/state.json', 365);
    live = new Set(['CMDLIVE']);
    const removed = retentionGate(options())();
    expect(removed?.map((r) => r.path).sort()).toEqual(
      [join(dir, 'state/logs/CMDOLD'), join(dir, 'state/logs/PIPE/0'), aside].sort(),
    );
    expect(existsSync(oldDead)).toBe(false);
    expect(existsSync(oldNode)).toBe(false);
    expect(existsSync(join(dir, 'state/logs/PIPE'))).toBe(false); // its last node went
    for (const kept of [young, oldLive, freshAside, snapshot]) expect(existsSync(kept)).toBe(true);
    expect(events.map((e) => e.ev)).toEqual([
      'retention-remove',
      'retention-remove',
      'retention-remove',
    ]);
    expect(events[0]?.fields).toMatchObject({ keep_days: 30 });
  });

  it('is gated: a second tick within the hour walks nothing, even across restarts', () => {
    retentionGate(options())();
    const old = file('state/logs/CMDOLD/stdout.log', 31);
    nowMs += 59 * 60_000;
    expect(retentionGate(options())()).toBeNull(); // a new gate reads the persisted time
    const tick = retentionGate(options());
    expect(tick()).toBeNull();
    expect(existsSync(old)).toBe(true);
    nowMs += 60_000;
    expect(tick()?.map((r) => r.path)).toEqual([join(dir, 'state/logs/CMDOLD')]);
    expect(existsSync(lastRunPath(options().statePath))).toBe(true);
  });

  it('sweeps temp files of dead daemons and every flow socket at start', () => {
    const old = file('state/.state.json.tmp-999-7', 0);
    const random = file(`state/${basename(tempPathFor('state.json'))}`, 0);
    const snapshot = file('state/state.json', 0);
    const flow = file('run/sockets/flow-PIPE-0.sock', 0);
    const notify = file('run/sockets/notify-1.sock', 0);
    expect(sweepAtStart(options()).sort()).toEqual([flow, old, random].sort());
    expect(existsSync(snapshot)).toBe(true);
    expect(existsSync(notify)).toBe(true);
    expect(events.every((e) => e.ev === 'sweep-remove')).toBe(true);
  });
});
