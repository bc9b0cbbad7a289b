/**
 * Sampling and quota decisions step by step (found unpinned by the mutation run): when a
 * sample is asked for, what a sample changes, the OOM report, and the quota verdicts.
 */

import { caps, cmdSpec, wsSpec } from '../../testing/fakes.js';
import { Stepper } from '../../testing/stepper.js';
import type { WorkspaceSpec } from '../manifest/types.js';
import type { Effect, SampleResult } from './model.js';
import { cpuPermille } from './stats.js';
import { step } from './step.js';

const WS = 'WS1';

class Engine extends Stepper {
  constructor(spec: Partial<WorkspaceSpec> = {}, delegated = false) {
    super({ sampleEveryMs: 1000, statsEveryMs: 0 }, caps(delegated));
    this.run({ type: 'workspace-create', id: WS, spec: wsSpec(spec), wallMs: 0 });
  }
  command(id: string, pid: number): void {
    this.run({ type: 'command-run', ref: WS, id, spec: cmdSpec({ label: id }) });
    this.run({ type: 'spawned', cmdId: id, pid, wallMs: 0 });
  }
  sampled(over: Partial<SampleResult> = {}, atMs = this.nowMs): Effect[] {
    const sample: SampleResult = {
      source: 'proc',
      alive: 1,
      memBytes: 1000,
      memPeakBytes: 0,
      cpuUs: 0,
      oomKills: 0,
      ...over,
    };
    return this.run({ type: 'stats-sampled', wsId: WS, sample, wallMs: 9, atMs });
  }
  get ws() {
    const ws = this.state.workspaces.get(WS);
    if (!ws) throw new Error('WS1 must exist');
    return ws;
  }
}

const events = (effects: Effect[], ev: string) =>
  effects.flatMap((e) => (e.type === 'append-event' && e.ev === ev ? [e.fields] : []));
const MIB = 1024 * 1024;

describe('samples asked for', () => {
  it('asks for none for a workspace that is gone or has nothing alive', () => {
    const e = new Engine();
    expect(e.run({ type: 'stats-requested', wsId: 'gone' })).toEqual([]);
    expect(e.run({ type: 'stats-requested', wsId: WS })).toEqual([]);
  });

  it('asks for one at once, then not again within sampleEveryMs', () => {
    const e = new Engine();
    e.command('C', 100);
    const sample = { type: 'sample', wsId: WS, pids: [100], cgroup: null, atMs: 0 };
    expect(e.run({ type: 'stats-requested', wsId: WS })).toEqual([sample]);
    e.sampled();
    e.nowMs = 999;
    expect(e.run({ type: 'stats-requested', wsId: WS })).toEqual([]);
    e.nowMs = 1000;
    expect(e.run({ type: 'stats-requested', wsId: WS })).toEqual([{ ...sample, atMs: 1000 }]);
  });

  it('ignores a sample of a workspace that is gone', () => {
    const e = new Engine();
    const r = step(
      e.state,
      {
        type: 'stats-sampled',
        wsId: 'gone',
        sample: { source: 'proc', alive: 0, memBytes: 0, memPeakBytes: 0, cpuUs: 0, oomKills: 0 },
        wallMs: 0,
        atMs: 0,
      },
      0,
    );
    expect(r.effects).toEqual([]);
  });
});

describe('what a sample changes', () => {
  it('keeps the usage, the peak and a history point with the CPU between samples', () => {
    const e = new Engine();
    e.command('C', 100);
    e.sampled({ memBytes: 5000, memPeakBytes: 8000, cpuUs: 1000, alive: 2 });
    e.nowMs = 1000;
    e.sampled({ memBytes: 3000, memPeakBytes: 0, cpuUs: 501_000, source: 'cgroup' });
    expect(e.ws.usage).toEqual({
      source: 'cgroup',
      memBytes: 3000,
      nprocAlive: 1,
      cpuUs: 501_000,
      atMs: 1000,
    });
    expect(e.ws.rssPeakBytes).toBe(8000);
    expect(e.ws.historySource).toBe('cgroup');
    expect(e.ws.history).toEqual([
      { wallMs: 9, rssBytes: 5000, cpuUs: 1000, cpuPermille: 0 },
      { wallMs: 9, rssBytes: 3000, cpuUs: 501_000, cpuPermille: 500 },
    ]);
    expect(e.state.dirty).toBe(true);
  });

  it('takes CPU per-mille as whole µs per ms, never negative, 0 without time', () => {
    const prev = { source: 'proc' as const, memBytes: 0, nprocAlive: 0, cpuUs: 1000, atMs: 100 };
    expect(cpuPermille(null, 5000, 200)).toBe(0);
    expect(cpuPermille(prev, 5000, 100)).toBe(0);
    expect(cpuPermille(prev, 500, 200)).toBe(0);
    expect(cpuPermille(prev, 1999, 200)).toBe(9);
    expect(cpuPermille(prev, 201_000, 200)).toBe(2000);
  });

  it('reports new OOM kills of a cgroup once, naming the command last killed', () => {
    const e = new Engine({ cgroupPath: 'a' }, true);
    e.run({ type: 'cgroup-created', wsId: WS, handle: 'cg/a' });
    e.command('C', 100);
    e.run({ type: 'process-exited', pid: 100, code: null, signal: 'SIGKILL' });
    e.command('D', 101);
    const oom = e.sampled({ source: 'cgroup', oomKills: 1 });
    expect(events(oom, 'oom')).toEqual([{ ws: WS, label: 'w', cmd: 'C', oom_kills: 1 }]);
    expect(e.ws.oomKills).toBe(1);
    expect(events(e.sampled({ source: 'cgroup', oomKills: 1 }), 'oom')).toEqual([]);
    expect(events(e.sampled({ source: 'proc', oomKills: 2 }), 'oom')).toEqual([]);
  });
});

describe('quota verdicts', () => {
  const limited = (mem: 'log' | 'kill') => ({
    rlimits: { ...wsSpec().rlimits, memBytes: MIB },
    quotaEnforce: { mem, nproc: 'none' as const },
  });

  it('logs a breach once, again after the usage came back under the limit', () => {
    const e = new Engine(limited('log'));
    e.command('C', 100);
    const breach = { ws: WS, label: 'w', breach: 'memory: 2.00 MiB > 1.00 MiB limit' };
    expect(events(e.sampled({ memBytes: 2 * MIB }), 'quota-breach')).toEqual([breach]);
    expect(events(e.sampled({ memBytes: 2 * MIB }), 'quota-breach')).toEqual([]);
    expect(e.ws.breachKey).toBe('memory');
    e.sampled({ memBytes: MIB });
    expect(e.ws.breachKey).toBe('');
    expect(events(e.sampled({ memBytes: 2 * MIB }), 'quota-breach')).toEqual([breach]);
    expect(e.ws.phase.kind).toBe('running');
  });

  it('stops the workspace with no grace on a breach under kill', () => {
    const e = new Engine(limited('kill'));
    e.command('C', 100);
    const kill = e.sampled({ memBytes: 2 * MIB });
    expect(events(kill, 'quota-kill')).toEqual([
      { ws: WS, label: 'w', breach: 'memory: 2.00 MiB > 1.00 MiB limit' },
    ]);
    expect(events(kill, 'workspace-stop')).toEqual([
      { ws: WS, label: 'w', grace_ms: 0, reason: 'quota' },
    ]);
    expect(kill).toContainEqual({ type: 'signal', pid: 100, signal: 'SIGKILL' });
  });

  it('decides nothing for a stopping workspace', () => {
    const e = new Engine(limited('kill'));
    e.command('C', 100);
    e.run({ type: 'workspace-stop', ref: WS, graceMs: 1000, reason: 'operator' });
    expect(events(e.sampled({ memBytes: 2 * MIB }), 'quota-kill')).toEqual([]);
  });
});
