/**
 * The effects of command transitions, step by step (found unpinned by the mutation run):
 * timers cancelled when a process ends or stops, a SIGKILL nobody sent sampling the
 * cgroup, settles only for stops, and the bound on dead command records.
 */

import { caps, cmdSpec, fakes, ok, wsSpec } from '../../testing/fakes.js';
import { Stepper } from '../../testing/stepper.js';
import type { CommandSpec } from '../manifest/types.js';
import { commandState } from './command.js';
import type { CommandPhase, Effect } from './model.js';
import { step } from './step.js';
import { createSupervisor } from './supervisor.js';

const WS = 'WS1';

class Engine extends Stepper {
  constructor(delegated = false) {
    super({ deadCommandsMax: 2 }, caps(delegated));
    this.run({ type: 'workspace-create', id: WS, spec: wsSpec(), wallMs: 0 });
  }
  /** Command `id` admitted and spawned as `pid`. */
  spawn(id: string, pid: number, over: Partial<CommandSpec> = {}): Effect[] {
    this.run({ type: 'command-run', ref: WS, id, spec: cmdSpec({ label: id, ...over }) });
    return this.run({ type: 'spawned', cmdId: id, pid, wallMs: 0 });
  }
  exit(pid: number): Effect[] {
    return this.run({ type: 'process-exited', pid, code: null, signal: 'SIGTERM' });
  }
  phase(id: string): string | undefined {
    return this.state.commands.get(id)?.phase.kind;
  }
}

const types = (effects: Effect[]) => effects.map((e) => e.type);
const cancels = (effects: Effect[]) =>
  effects.flatMap((e) => (e.type === 'cancel-timer' ? [e.key] : []));

describe('command effects', () => {
  it('cancels the watchdog and ready timers when the process ends', () => {
    const e = new Engine();
    e.spawn('C', 100, { ready: 'notify', readyTimeoutMs: 500 });
    expect([...e.state.timers.keys()]).toContain('ready:C');
    expect(cancels(e.run({ type: 'process-exited', pid: 100, code: 1, signal: null }))).toEqual([
      'ready:C',
    ]);
    e.spawn('D', 101, { watchdogMs: 500 });
    expect(cancels(e.run({ type: 'process-exited', pid: 101, code: 1, signal: null }))).toEqual([
      'watchdog:D',
    ]);
  });

  it('cancels the kill timer of a stop when the process ends', () => {
    const e = new Engine();
    e.spawn('C', 100);
    e.run({ type: 'command-stop', ref: WS, cmd: 'C', graceMs: 1000, remove: false });
    expect(e.state.timers.get('kill:C')).toBe(1000);
    const effects = e.run({ type: 'process-exited', pid: 100, code: null, signal: 'SIGTERM' });
    expect(cancels(effects)).toEqual(['kill:C']);
    expect(effects).toContainEqual({ type: 'settle', kind: 'command', id: 'C', reaped: 1 });
    expect(e.state.timers.has('kill:C')).toBe(false);
  });

  it('stops with no grace by SIGKILL alone, cancelling the watchdog', () => {
    const e = new Engine();
    e.spawn('C', 100, { watchdogMs: 500 });
    const effects = e.run({ type: 'command-stop', ref: WS, cmd: 'C', graceMs: 0, remove: false });
    expect(effects.filter((x) => x.type === 'signal')).toEqual([
      { type: 'signal', pid: 100, signal: 'SIGKILL' },
    ]);
    expect(cancels(effects)).toEqual(['watchdog:C']);
    expect(e.state.timers.has('kill:C')).toBe(false);
  });

  it('writes a stop through for a service only', () => {
    const e = new Engine();
    e.spawn('ONE', 100);
    e.spawn('SVC', 101, { restartOnFailure: true });
    const stop = (cmd: string) =>
      types(e.run({ type: 'command-stop', ref: WS, cmd, graceMs: 100, remove: false }));
    expect(stop('ONE')).not.toContain('write-snapshot');
    expect(stop('SVC')).toContain('write-snapshot');
  });

  it('settles nothing when a process ends by itself', () => {
    const e = new Engine();
    e.spawn('C', 100);
    const effects = e.run({ type: 'process-exited', pid: 100, code: 0, signal: null });
    expect(types(effects)).not.toContain('settle');
    expect(e.phase('C')).toBe('done');
  });

  it('samples the cgroup at a SIGKILL nobody here sent, only then', () => {
    const e = new Engine(true);
    e.run({ type: 'cgroup-created', wsId: WS, handle: 'cg/ws1' });
    e.spawn('C', 100);
    e.spawn('D', 101);
    e.spawn('E', 102);
    const sample = { type: 'sample', wsId: WS, pids: [], cgroup: 'cg/ws1', atMs: 0 };
    expect(
      e.run({ type: 'process-exited', pid: 100, code: null, signal: 'SIGKILL' }),
    ).toContainEqual(sample);
    expect(e.state.workspaces.get(WS)?.lastKilledCmd).toBe('C');
    expect(
      types(e.run({ type: 'process-exited', pid: 101, code: null, signal: 'SIGSEGV' })),
    ).not.toContain('sample');
    e.run({ type: 'command-stop', ref: WS, cmd: 'E', graceMs: 0, remove: false });
    expect(
      types(e.run({ type: 'process-exited', pid: 102, code: null, signal: 'SIGKILL' })),
    ).not.toContain('sample');
    expect(e.state.workspaces.get(WS)?.lastKilledCmd).toBe('C');
  });

  it('cancels the restart timer of a command in backoff that is stopped or restarted', () => {
    const e = new Engine();
    e.spawn('C', 100, { restartOnFailure: true });
    e.run({ type: 'process-exited', pid: 100, code: 1, signal: null });
    expect(e.state.timers.has('restart:C')).toBe(true);
    const restart = e.run({ type: 'command-restart', ref: WS, cmd: 'C' });
    expect(cancels(restart)).toEqual(['restart:C']);
    expect(e.state.commands.get('C')?.restarts).toBe(1);
    e.run({ type: 'spawned', cmdId: 'C', pid: 101, wallMs: 0 });
    e.run({ type: 'process-exited', pid: 101, code: 1, signal: null });
    const stop = e.run({ type: 'command-stop', ref: WS, cmd: 'C', graceMs: 10, remove: false });
    expect(cancels(stop)).toEqual(['restart:C']);
    expect(e.state.commands.get('C')?.phase).toEqual({ kind: 'done', reason: 'stopped' });
  });

  it('keeps a crash loop persisted: no deferred save, unlike a command that is done', () => {
    const e = new Engine();
    e.spawn('C', 100, { restartOnFailure: true, crashLoopMax: 1 });
    e.run({ type: 'process-exited', pid: 100, code: 1, signal: null });
    e.nowMs = 200;
    e.run({ type: 'timer-fired', key: 'restart:C' });
    e.run({ type: 'spawned', cmdId: 'C', pid: 101, wallMs: 0 });
    const loop = e.run({ type: 'process-exited', pid: 101, code: 1, signal: null });
    expect(e.phase('C')).toBe('crash-loop');
    expect(types(loop)).not.toContain('arm-timer');
    const fields = loop.flatMap((x) =>
      x.type === 'append-event' && x.ev === 'crash-loop' ? [x.fields] : [],
    );
    expect(fields).toEqual([{ ws: WS, cmd: 'C', label: 'C', deaths: 2, restarts: 1 }]);
  });

  it('refuses an empty exec and a run into a stopping workspace; an empty batch is a no-op', () => {
    const e = new Engine();
    const exec = step(
      e.state,
      { type: 'command-run', ref: WS, id: 'C', spec: cmdSpec({ exec: '' }) },
      0,
    );
    expect(exec.error).toEqual({
      code: 'invalid',
      field: 'exec',
      message: 'exec must not be empty',
    });
    expect(e.run({ type: 'commands-run', ref: WS, runs: [] })).toEqual([]);
    e.spawn('C', 100);
    e.run({ type: 'workspace-stop', ref: WS, graceMs: 1000, reason: 'operator' });
    const late = step(e.state, { type: 'command-run', ref: WS, id: 'D', spec: cmdSpec() }, 0);
    expect(late.error).toEqual({ code: 'conflict', message: 'workspace "w" is stopping' });
  });

  it('names an unlabeled command of a refused batch by its id', () => {
    const e = new Engine();
    const runs = [{ id: 'X1', spec: cmdSpec({ exec: '' }) }];
    const r = step(e.state, { type: 'commands-run', ref: WS, runs }, 0);
    expect(r.error?.message).toBe('command "X1": exec must not be empty');
  });

  it('labels an unlabeled command by the last six characters of its id, in lower case', () => {
    const e = new Engine();
    e.run({ type: 'command-run', ref: WS, id: '01ABCDEFGHIJ', spec: cmdSpec() });
    expect(e.state.commands.get('01ABCDEFGHIJ')?.label).toBe('run-efghij');
  });

  it('throws naming the command when an event reaches it in a state that cannot take it', () => {
    const e = new Engine();
    e.spawn('C', 100);
    expect(() => e.run({ type: 'spawned', cmdId: 'C', pid: 200, wallMs: 0 })).toThrow(
      'command "C"',
    );
  });
});

describe('dead command records', () => {
  it('keeps at most deadCommandsMax dead records per workspace, the oldest going first', () => {
    const f = fakes();
    const sup = createSupervisor(f.ports, {
      sampleEveryMs: 1000,
      saveDelayMs: 200,
      deadCommandsMax: 2,
    });
    sup.start();
    const ws = ok(sup.createWorkspace(wsSpec()));
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const c = ok(sup.runCommand('w', cmdSpec({ label: `c${i}` })));
      ids.push(c.id);
      f.kernel.exit(f.kernel.pidsOf(c.id)[0] as number, 0);
      const labels = ok(sup.listCommands('w')).map((v) => v.label);
      expect(labels).toEqual(i < 2 ? ids.map((_, j) => `c${j}`) : ['c1', 'c2']);
    }
    expect(f.kernel.released).toContain(ids[0]);
    expect(ok(sup.getWorkspace(ws.id)).commandsTotal).toBe(2);
  });

  it('counts a removed command out of its workspace', async () => {
    const f = fakes();
    const sup = createSupervisor(f.ports, { sampleEveryMs: 1000, saveDelayMs: 200 });
    sup.start();
    const ws = ok(sup.createWorkspace(wsSpec()));
    const c = ok(sup.runCommand('w', cmdSpec()));
    ok(sup.runCommand('w', cmdSpec()));
    expect(await sup.removeCommand('w', c.id, 0)).toEqual({ ok: true, value: true });
    expect(ok(sup.getWorkspace(ws.id)).commandsTotal).toBe(1);
  });

  it('refuses a stop whose grace is not a non-negative integer', async () => {
    const f = fakes();
    const sup = createSupervisor(f.ports, { sampleEveryMs: 1000, saveDelayMs: 200 });
    sup.start();
    ok(sup.createWorkspace(wsSpec()));
    const c = ok(sup.runCommand('w', cmdSpec()));
    const r = await sup.stopCommand('w', c.id, -1);
    expect(r.ok ? null : r.error.message).toBe(
      'grace must be a non-negative integer of ms, got -1',
    );
  });
});

describe('a workspace stop reaching its commands', () => {
  it('cancels their timers, keeps a pending remove, and ends those in backoff', () => {
    const e = new Engine();
    e.spawn('W', 100, { watchdogMs: 500 });
    e.spawn('R', 101);
    e.spawn('B', 102, { restartOnFailure: true });
    e.run({ type: 'process-exited', pid: 102, code: 1, signal: null });
    e.run({ type: 'command-stop', ref: WS, cmd: 'R', graceMs: 5000, remove: true });
    const effects = e.run({ type: 'workspace-stop', ref: WS, graceMs: 1000, reason: 'operator' });
    expect(cancels(effects)).toEqual(expect.arrayContaining(['watchdog:W', 'kill:R', 'restart:B']));
    expect(e.state.commands.get('B')?.phase).toEqual({ kind: 'done', reason: 'stopped' });
    expect(e.state.commands.get('R')?.phase).toMatchObject({ kind: 'stopping', after: 'remove' });
    e.run({ type: 'process-exited', pid: 101, code: null, signal: 'SIGTERM' });
    expect(e.state.commands.has('R')).toBe(false);
  });

  it('writes the operator restart with no backoff', () => {
    const e = new Engine();
    e.spawn('C', 100);
    const effects = e.run({ type: 'command-restart', ref: WS, cmd: 'C' });
    const restart = effects.filter((x) => x.type === 'append-event' && x.ev === 'restart');
    expect(restart).toEqual([
      {
        type: 'append-event',
        ev: 'restart',
        fields: { ws: WS, cmd: 'C', label: 'C', backoff_ms: 0, operator: true },
      },
    ]);
  });
});

describe('a policy that gives up', () => {
  it('shows the command as gave-up and writes the give-up event', () => {
    const f = fakes();
    const policy = { decideRestart: () => ({ kind: 'give-up', reason: 'restart_max' }) as const };
    const sup = createSupervisor(f.ports, { sampleEveryMs: 1000, saveDelayMs: 200, policy });
    sup.start();
    ok(sup.createWorkspace(wsSpec()));
    const c = ok(sup.runCommand('w', cmdSpec({ label: 'c', restartOnFailure: true })));
    f.kernel.exit(f.kernel.pidsOf(c.id)[0] as number, 1);
    expect(ok(sup.getCommand('w', c.id)).state).toBe('gave-up');
    expect(f.eventLog.named('give-up').map((e) => e.fields)).toEqual([
      {
        ws: c.workspaceId,
        cmd: c.id,
        label: 'c',
        restarts: 0,
        message: 'restart_max reached — giving up',
      },
    ]);
  });
});

describe("the daemon's shutdown and an operator's stop under way", () => {
  it('cancels an operator restart: the caller is answered, nothing respawns', () => {
    const e = new Engine();
    e.spawn('C', 100);
    e.run({ type: 'command-restart', ref: WS, cmd: 'C' });
    e.run({ type: 'daemon-shutdown', graceMs: 1000 });
    const exit = e.exit(100);
    expect(types(exit)).not.toContain('spawn');
    expect(exit).toContainEqual({ type: 'settle', kind: 'command-restart', id: 'C', reaped: 1 });
    expect(e.state.commands.get('C')?.phase).toEqual({ kind: 'done', reason: 'stopped' });
  });

  it('still drops a command whose remove was under way', () => {
    const e = new Engine();
    e.spawn('C', 100);
    e.run({ type: 'command-stop', ref: WS, cmd: 'C', graceMs: 1000, remove: true });
    e.run({ type: 'daemon-shutdown', graceMs: 1000 });
    e.exit(100);
    expect(e.state.commands.has('C')).toBe(false);
  });

  it('respawns after an operator restart when no shutdown came between', () => {
    const e = new Engine();
    e.spawn('C', 100);
    e.run({ type: 'command-restart', ref: WS, cmd: 'C' });
    const exit = e.exit(100);
    expect(types(exit)).toContain('spawn');
    expect(e.state.commands.get('C')?.restarts).toBe(1);
  });
});

describe('commandState', () => {
  it.each<[CommandPhase, string]>([
    [{ kind: 'waiting' }, 'waiting'],
    [{ kind: 'spawning', origin: 'later' }, 'starting'],
    [{ kind: 'starting', pid: 1 }, 'starting'],
    [{ kind: 'running', pid: 1 }, 'running'],
    [{ kind: 'stopping', pid: 1, after: 'done' }, 'running'],
    [{ kind: 'backoff', atMs: 0, delayMs: 0 }, 'backoff'],
    [{ kind: 'crash-loop' }, 'crash-loop'],
    [{ kind: 'done', reason: 'gave-up' }, 'gave-up'],
    [{ kind: 'done', reason: 'lost' }, 'lost'],
    [{ kind: 'done', reason: 'stopped' }, 'exited'],
    [{ kind: 'done', reason: 'exit-0' }, 'exited'],
  ])('shows %o as %s', (phase, state) => {
    expect(commandState(phase)).toBe(state);
  });
});
