/**
 * Workspace transitions step by step, with their effects: create (refusals, warnings, the
 * cgroup and the TTL), cgroup results, and the stop (TERM or wait, grace, KILL, a second
 * stop, TTL, the end that releases and settles everything).
 */

import { caps, cmdSpec, pipeSpec, wsSpec } from '../../testing/fakes.js';
import { Stepper } from '../../testing/stepper.js';
import type { WorkspaceSpec } from '../manifest/types.js';
import type { PortError } from '../ports.js';
import type { Effect } from './model.js';
import { step } from './step.js';
import { envelopeFor, newWorkspace, WARN_CGROUP, WARN_USERNS } from './workspace.js';

const WS = 'WS1';
const RUN = { source: '', vars: {}, tap: false, restarts: 0, backoffMs: 0 };

class Engine extends Stepper {
  constructor(delegated = false, userNamespaces = true) {
    super({}, caps(delegated, userNamespaces));
  }
  create(over: Partial<WorkspaceSpec> = {}): Effect[] {
    return this.run({ type: 'workspace-create', id: WS, spec: wsSpec(over), wallMs: 7 });
  }
  command(id: string, pid: number): void {
    this.run({ type: 'command-run', ref: WS, id, spec: cmdSpec({ label: id }) });
    this.run({ type: 'spawned', cmdId: id, pid, wallMs: 0 });
  }
  exit(pid: number): Effect[] {
    return this.run({ type: 'process-exited', pid, code: null, signal: 'SIGTERM' });
  }
  stop(graceMs: number): Effect[] {
    return this.run({ type: 'workspace-stop', ref: WS, graceMs, reason: 'operator' });
  }
}

const events = (effects: Effect[], ev: string) =>
  effects.flatMap((e) => (e.type === 'append-event' && e.ev === ev ? [e.fields] : []));
const signals = (effects: Effect[]) =>
  effects.flatMap((e) => (e.type === 'signal' ? [[e.pid, e.signal]] : []));
const portError = (message: string): PortError => ({
  _tag: 'PortError',
  port: 'Cgroups',
  method: 'create',
  reason: 'Busy',
  message,
});

describe('workspace create', () => {
  it('refuses an empty label and a label in use', () => {
    const e = new Engine();
    const empty = e.step({
      type: 'workspace-create',
      id: WS,
      spec: wsSpec({ label: '' }),
      wallMs: 0,
    });
    expect(empty.error).toEqual({
      code: 'invalid',
      field: 'label',
      message: 'label must not be empty',
    });
    e.create();
    const twice = e.step({ type: 'workspace-create', id: 'WS2', spec: wsSpec(), wallMs: 0 });
    expect(twice.error).toEqual({ code: 'conflict', message: 'workspace "w" already exists' });
  });

  it('asks for a cgroup with its limits only when one is wanted and delegated', () => {
    const rlimits = { ...wsSpec().rlimits, memBytes: 1 << 20, nproc: 5 };
    const delegated = new Engine(true).create({ cgroupPath: 'a/b', rlimits });
    expect(delegated).toContainEqual({
      type: 'cgroup-create',
      wsId: WS,
      relPath: 'a/b',
      limits: { memBytes: 1 << 20, pids: 5 },
    });
    const none = new Engine(true).create();
    expect(none.some((x) => x.type === 'cgroup-create')).toBe(false);
    const e = new Engine(false);
    const undelegated = e.create({ cgroupPath: 'a/b' });
    expect(undelegated.some((x) => x.type === 'cgroup-create')).toBe(false);
    expect(e.state.workspaces.get(WS)?.warnings).toEqual([WARN_CGROUP]);
    expect(events(undelegated, 'workspace-create')).toEqual([{ ws: WS, label: 'w', warnings: 1 }]);
  });

  it('warns of user namespaces it cannot give, and gives none', () => {
    const namespaces = { ...wsSpec().namespaces, user: true };
    const e = new Engine(false, false);
    e.create({ namespaces, rlimits: { ...wsSpec().rlimits, nproc: 5, nofile: 64 } });
    const ws = e.state.workspaces.get(WS);
    expect(ws?.warnings).toEqual([WARN_USERNS]);
    expect(ws?.envelope.namespaces.user).toBe(false);
    // The host's RLIMIT_NPROC counts the whole uid: the workspace's nproc is never one.
    expect(ws?.envelope.rlimits).toEqual({ nofile: 64, nproc: 0 });
    const ok = new Engine(false, true);
    ok.create({ namespaces });
    expect(ok.state.workspaces.get(WS)?.envelope.namespaces.user).toBe(true);
    expect(ok.state.workspaces.get(WS)?.warnings).toEqual([]);
  });

  it('arms the TTL only when there is one', () => {
    const e = new Engine();
    e.create();
    expect(e.state.timers.size).toBe(0);
  });
});

describe('cgroup results', () => {
  it('puts a created cgroup in the envelope; removes one for a workspace that is gone', () => {
    const e = new Engine(true);
    e.create({ cgroupPath: 'a' });
    e.run({ type: 'cgroup-created', wsId: WS, handle: 'cg/a' });
    expect(e.state.workspaces.get(WS)?.envelope.cgroup).toBe('cg/a');
    expect(e.run({ type: 'cgroup-created', wsId: 'gone', handle: 'cg/x' })).toEqual([
      { type: 'cgroup-remove', handle: 'cg/x', attempt: 1 },
    ]);
  });

  it('warns when the cgroup could not be created, and ignores a result for what is gone', () => {
    const e = new Engine(true);
    e.create({ cgroupPath: 'a' });
    const failed = e.run({ type: 'cgroup-failed', wsId: WS, error: portError('EBUSY') });
    expect(e.state.workspaces.get(WS)?.warnings).toEqual([
      'cgroup create failed (EBUSY): limits are accounted, not enforced',
    ]);
    expect(events(failed, 'cgroup-failed')).toEqual([{ ws: WS, reason: 'Busy', message: 'EBUSY' }]);
    expect(e.state.dirty).toBe(true);
    expect(e.run({ type: 'cgroup-failed', wsId: 'gone', error: portError('x') })).toEqual([]);
  });
});

describe('workspace stop', () => {
  it('TERMs with on_exit = "reap", KILLs at the grace, then finishes with the last death', () => {
    const e = new Engine();
    e.create();
    e.command('C', 100);
    e.command('D', 101);
    const stop = e.stop(500);
    expect(signals(stop)).toEqual([
      [100, 'SIGTERM'],
      [101, 'SIGTERM'],
    ]);
    expect(events(stop, 'workspace-stop')).toEqual([
      { ws: WS, label: 'w', grace_ms: 500, reason: 'operator' },
    ]);
    expect(stop).toContainEqual({ type: 'write-snapshot', sync: true });
    expect(e.state.timers.get(`stop-grace:${WS}`)).toBe(500);
    e.exit(100);
    e.nowMs = 500;
    const kill = e.run({ type: 'timer-fired', key: `stop-grace:${WS}` });
    expect(signals(kill)).toEqual([[101, 'SIGKILL']]);
    const end = e.exit(101);
    expect(events(end, 'workspace-stopped')).toEqual([{ ws: WS, label: 'w', reaped: 2 }]);
    expect(end).toContainEqual({ type: 'settle', kind: 'workspace', id: WS, reaped: 2 });
    expect(end).toContainEqual({ type: 'release', key: 'C' });
    expect(end).toContainEqual({ type: 'release', key: 'D' });
    expect(e.state.workspaces.has(WS)).toBe(false);
    expect(e.state.commands.size).toBe(0);
  });

  it('lets the processes finish by themselves with on_exit = "wait"', () => {
    const e = new Engine();
    e.create({ onExit: 'wait' });
    e.command('C', 100);
    expect(signals(e.stop(500))).toEqual([]);
  });

  it('KILLs at once with no grace, the cgroup too', () => {
    const e = new Engine(true);
    e.create({ cgroupPath: 'a' });
    e.run({ type: 'cgroup-created', wsId: WS, handle: 'cg/a' });
    e.command('C', 100);
    const stop = e.stop(0);
    expect(signals(stop)).toEqual([[100, 'SIGKILL']]);
    expect(stop).toContainEqual({ type: 'cgroup-kill', handle: 'cg/a', attempt: 1 });
    const end = e.exit(100);
    expect(end).toContainEqual({ type: 'cgroup-remove', handle: 'cg/a', attempt: 1 });
  });

  it('finishes at once when nothing runs, and settles the pipelines it ends', () => {
    const e = new Engine();
    e.create();
    const spec = pipeSpec({ restart: { ...pipeSpec().restart, restartOnFailure: true } });
    e.run({ type: 'pipeline-run', id: 'P', nodeIds: ['N0', 'N1'], spec, run: RUN });
    e.run({ type: 'group-spawned', pipelineId: 'P', pids: [200, 201], taps: [] });
    e.exit(200);
    e.exit(201);
    expect(e.state.pipelines.get('P')?.phase.kind).toBe('backoff');
    const end = e.stop(1000);
    expect(end).toContainEqual({ type: 'settle', kind: 'pipeline', id: 'P', reaped: 0 });
    expect(end).toContainEqual({ type: 'release', key: 'P' });
    expect(end).toContainEqual({ type: 'settle', kind: 'workspace', id: WS, reaped: 0 });
    expect(e.state.pipelines.size).toBe(0);
  });

  it('brings the KILL forward on a second stop with a shorter grace', () => {
    const e = new Engine();
    e.create();
    e.command('C', 100);
    e.stop(1000);
    e.nowMs = 100;
    e.stop(5000);
    expect(e.state.timers.get(`stop-grace:${WS}`)).toBe(1000);
    e.stop(200);
    expect(e.state.timers.get(`stop-grace:${WS}`)).toBe(300);
    expect(signals(e.stop(0))).toEqual([[100, 'SIGKILL']]);
    expect(e.state.timers.has(`stop-grace:${WS}`)).toBe(false);
  });

  it('stops itself at its TTL with a 1 s grace, saving later instead of writing through', () => {
    const e = new Engine();
    e.create({ ttlMs: 300 });
    e.command('C', 100);
    e.nowMs = 300;
    const ttl = e.run({ type: 'timer-fired', key: `ttl:${WS}` });
    expect(events(ttl, 'ttl')).toEqual([{ ws: WS, label: 'w', ttl_ms: 300 }]);
    expect(events(ttl, 'workspace-stop')).toEqual([
      { ws: WS, label: 'w', grace_ms: 1000, reason: 'ttl' },
    ]);
    expect(ttl.some((x) => x.type === 'write-snapshot')).toBe(false);
    expect(e.state.timers.get(`stop-grace:${WS}`)).toBe(1300);
  });

  it('cancels the TTL of a workspace an operator stops', () => {
    const e = new Engine();
    e.create({ ttlMs: 300 });
    e.command('C', 100);
    expect(e.stop(100)).toContainEqual({ type: 'cancel-timer', key: `ttl:${WS}` });
  });

  it('refuses a stop of an unknown workspace or with a bad grace', () => {
    const e = new Engine();
    e.create();
    const unknown = e.step({ type: 'workspace-stop', ref: 'x', graceMs: 0, reason: 'operator' });
    expect(unknown.error).toEqual({ code: 'not_found', message: 'no workspace "x"' });
    const bad = e.step({ type: 'workspace-stop', ref: WS, graceMs: 1.5, reason: 'operator' });
    expect(bad.error).toMatchObject({ code: 'invalid', field: 'grace' });
  });
});

describe('workspace stop, the rest', () => {
  it('signals no cgroup that is not there, and cancels the grace timer at the end', () => {
    const e = new Engine();
    e.create();
    e.command('C', 100);
    e.stop(500);
    const end = e.exit(100);
    expect(end).toContainEqual({ type: 'cancel-timer', key: `stop-grace:${WS}` });
    expect(end.some((x) => x.type === 'cgroup-kill' || x.type === 'cgroup-remove')).toBe(false);
    const f = new Engine();
    f.create();
    f.command('C', 100);
    expect(f.stop(0).some((x) => x.type === 'cgroup-kill')).toBe(false);
  });

  it('kills once: a grace timer after the KILL changes nothing', () => {
    const e = new Engine();
    e.create();
    e.command('C', 100);
    e.stop(0);
    const key = `stop-grace:${WS}`;
    const s = { ...e.state, timers: new Map([...e.state.timers, [key, 5]]) };
    expect(step(s, { type: 'timer-fired', key }, 5).effects).toEqual([]);
  });

  it('settles a stopping pipeline with the nodes it reaped', () => {
    const e = new Engine();
    e.create();
    e.run({ type: 'pipeline-run', id: 'P', nodeIds: ['N0', 'N1'], spec: pipeSpec(), run: RUN });
    e.run({ type: 'group-spawned', pipelineId: 'P', pids: [200, 201], taps: [] });
    e.stop(1000);
    e.exit(200);
    const end = e.exit(201);
    expect(end).toContainEqual({ type: 'settle', kind: 'pipeline', id: 'P', reaped: 2 });
  });

  it('starts a workspace with nothing in it', () => {
    const spec = wsSpec();
    expect(newWorkspace('W', spec, caps(false), 7)).toEqual({
      id: 'W',
      spec,
      envelope: envelopeFor(spec, caps(false)),
      createdAtWallMs: 7,
      warnings: [],
      phase: { kind: 'running' },
      commandIds: [],
      usage: null,
      history: [],
      historySource: 'proc',
      rssPeakBytes: 0,
      oomKills: 0,
      breachKey: '',
      lastKilledCmd: '',
    });
  });
});
