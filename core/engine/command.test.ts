import { cmdSpec, fakes, ok, setup, wsSpec } from '../../testing/fakes.js';
import { createSupervisor } from './supervisor.js';

describe('commands', () => {
  it('reports a missing exec as an immediate spawn_failed error with errno', () => {
    const { sup } = setup();
    ok(sup.createWorkspace(wsSpec()));
    const r = sup.runCommand('w', cmdSpec({ exec: '/nope' }));
    expect(r.ok ? null : r.error).toMatchObject({
      code: 'spawn_failed',
      errno: 2,
      syscall: 'execve',
    });
    expect(ok(sup.listCommands('w'))).toEqual([]);
  });

  it('labels a command run-XXXXXX and reports its pid', () => {
    const { sup } = setup();
    ok(sup.createWorkspace(wsSpec()));
    const view = ok(sup.runCommand('w', cmdSpec()));
    expect(view.label).toMatch(/^run-[0-9a-z]{6}$/);
    expect(view).toMatchObject({ alive: true, state: 'running', restarts: 0 });
    expect(view.pid).toBeGreaterThan(0);
  });

  it('restarts a failing supervised command after 200, 400, 800 ms and carries the count', () => {
    const { f, sup } = setup();
    ok(sup.createWorkspace(wsSpec()));
    const view = ok(sup.runCommand('w', cmdSpec({ restartOnFailure: true })));
    const delays: number[] = [];
    for (let i = 0; i < 3; i++) {
      const [pid] = f.kernel.pidsOf(view.id);
      f.kernel.exit(pid as number, 1);
      const cmd = ok(sup.getCommand('w', view.id));
      expect(cmd.state).toBe('backoff');
      delays.push(cmd.backoffMs);
      f.clock.advance(cmd.backoffMs - 1);
      expect(f.kernel.pidsOf(view.id)).toEqual([]);
      f.clock.advance(1);
      expect(f.kernel.pidsOf(view.id)).toHaveLength(1);
    }
    expect(delays).toEqual([200, 400, 800]);
    expect(f.eventLog.named('restart').map((e) => e.fields.backoff_ms)).toEqual([200, 400, 800]);
    expect(ok(sup.getCommand('w', view.id))).toMatchObject({ restarts: 3, backoffMs: 1600 });
    expect(new Set(f.kernel.spawns.map((s) => s.key))).toEqual(new Set([view.id]));
  });
});

describe('command supervision guards', () => {
  it('trips the crash-loop guard on the fourth death within the window', () => {
    const { f, sup } = setup();
    ok(sup.createWorkspace(wsSpec()));
    const view = ok(sup.runCommand('w', cmdSpec({ restartOnFailure: true })));
    for (let i = 0; i < 4; i++) {
      const [pid] = f.kernel.pidsOf(view.id);
      f.kernel.exit(pid as number, 1);
      f.clock.advance(2000);
    }
    expect(ok(sup.getCommand('w', view.id)).state).toBe('crash-loop');
    expect(f.kernel.pidsOf(view.id)).toEqual([]);
    expect(f.eventLog.named('crash-loop')).toHaveLength(1);
    const again = ok(sup.restartCommand('w', view.id));
    expect(again).toMatchObject({ alive: true, state: 'running' });
  });

  it.each([
    ['exit 0', 0, null, 'exited'],
    ['exit 3 unsupervised', 3, null, 'exited'],
  ])('does not restart after %s', (_t, code, signal, state) => {
    const { f, sup } = setup();
    ok(sup.createWorkspace(wsSpec()));
    const supervised = code === 0;
    const view = ok(sup.runCommand('w', cmdSpec({ restartOnFailure: supervised })));
    f.kernel.exit(view.pid as number, code, signal);
    f.clock.advance(60_000);
    expect(ok(sup.getCommand('w', view.id))).toMatchObject({ state, alive: false });
    expect(f.kernel.spawns).toHaveLength(1);
  });
});

describe('command deaths and records', () => {
  it('counts a signal death as a failure with status 128 + signal', () => {
    const { f, sup } = setup();
    ok(sup.createWorkspace(wsSpec()));
    const view = ok(sup.runCommand('w', cmdSpec({ restartOnFailure: true })));
    f.kernel.exit(view.pid as number, null, 'SIGSEGV');
    const cmd = ok(sup.getCommand('w', view.id));
    expect(cmd.exit).toEqual({ code: null, signal: 'SIGSEGV', status: 139 });
    expect(cmd.state).toBe('backoff');
  });

  it('keeps a bounded number of dead command records, evicting the oldest', () => {
    const f = fakes();
    const sup = createSupervisor(f.ports, { deadCommandsMax: 2 });
    sup.start();
    ok(sup.createWorkspace(wsSpec()));
    const ids = [0, 1, 2, 3].map(() => ok(sup.runCommand('w', cmdSpec())));
    for (const v of ids) f.kernel.exit(v.pid as number, 0);
    expect(ok(sup.listCommands('w')).map((c) => c.id)).toEqual([ids[2]?.id, ids[3]?.id]);
    expect(f.kernel.released).toEqual([ids[0]?.id, ids[1]?.id]);
  });

  it('waits for READY=1 and kills a command that misses its watchdog', () => {
    const { f, sup } = setup();
    ok(sup.createWorkspace(wsSpec()));
    const spec = cmdSpec({ ready: 'notify', watchdogMs: 1000, restartOnFailure: true });
    const view = ok(sup.runCommand('w', spec));
    expect(view.state).toBe('starting');
    expect(f.kernel.spawns[0]?.req.notify).toBe(true);
    f.kernel.emit({ type: 'notify', pid: view.pid as number, message: 'READY=1\nSTATUS=up' });
    expect(ok(sup.getCommand('w', view.id)).state).toBe('running');
    f.clock.advance(900);
    f.kernel.emit({ type: 'notify', pid: view.pid as number, message: 'WATCHDOG=1' });
    f.clock.advance(900);
    expect(f.kernel.signals).toEqual([]);
    f.clock.advance(100);
    expect(f.kernel.signals).toEqual([{ pid: view.pid, signal: 'SIGKILL' }]);
    expect(ok(sup.getCommand('w', view.id)).state).toBe('backoff');
  });
});

describe('operator restart and stop', () => {
  it('restarts a running command: TERM, then a fresh start with a cleared tally', () => {
    const { f, sup } = setup();
    ok(sup.createWorkspace(wsSpec()));
    const view = ok(sup.runCommand('w', cmdSpec({ restartOnFailure: true })));
    const again = ok(sup.restartCommand('w', view.label));
    expect(f.kernel.signals).toEqual([{ pid: view.pid, signal: 'SIGTERM' }]);
    expect(again).toMatchObject({ alive: true, restarts: 1, backoffMs: 200 });
    expect(again.pid).not.toBe(view.pid);
  });

  it('cancels a pending restart when the workspace stops', async () => {
    const { f, sup } = setup();
    ok(sup.createWorkspace(wsSpec()));
    const view = ok(sup.runCommand('w', cmdSpec({ restartOnFailure: true })));
    f.kernel.exit(view.pid as number, 1);
    expect(await sup.stopWorkspace('w', 100)).toEqual({ ok: true, value: { reaped: 0 } });
    f.clock.advance(10_000);
    expect(f.kernel.spawns).toHaveLength(1);
  });

  it('with on_exit = "wait" lets commands finish within the grace before SIGKILL', () => {
    const { f, sup } = setup();
    ok(sup.createWorkspace(wsSpec({ onExit: 'wait' })));
    const pid = ok(sup.runCommand('w', cmdSpec())).pid;
    void sup.stopWorkspace('w', 300);
    expect(f.kernel.signals).toEqual([]);
    f.clock.advance(300);
    expect(f.kernel.signals).toEqual([{ pid, signal: 'SIGKILL' }]);
  });

  it('refuses a command in a workspace that is stopping', () => {
    const { f, sup } = setup();
    ok(sup.createWorkspace(wsSpec()));
    const pid = ok(sup.runCommand('w', cmdSpec())).pid as number;
    f.kernel.ignoreTerm.add(pid);
    void sup.stopWorkspace('w', 1000);
    const r = sup.runCommand('w', cmdSpec());
    expect(r.ok ? null : r.error.code).toBe('conflict');
  });
});

describe('injected policy', () => {
  it('uses the decision functions passed in the options instead of core/policy', () => {
    const f = fakes();
    const never = () => ({ kind: 'done' as const, reason: 'unsupervised' as const });
    const sup = createSupervisor(f.ports, { policy: { decideRestart: never } });
    sup.start();
    ok(sup.createWorkspace(wsSpec()));
    const view = ok(sup.runCommand('w', cmdSpec({ restartOnFailure: true })));
    f.kernel.exit(view.pid as number, 1);
    expect(ok(sup.getCommand('w', view.id)).state).toBe('exited');
  });
});

it('runs the watchdog from exec, catching a start-up that never sends READY=1', () => {
  const { f, sup } = setup();
  ok(sup.createWorkspace(wsSpec()));
  const view = ok(sup.runCommand('w', cmdSpec({ watchdogMs: 500, ready: 'notify' })));
  expect(view.state).toBe('starting');
  f.clock.advance(500);
  expect(f.kernel.signals).toEqual([{ pid: view.pid, signal: 'SIGKILL' }]);
  expect(f.eventLog.named('watchdog')).toHaveLength(1);
});

it('keeps the dead-record bound when a stop turns commands in backoff into dead ones', () => {
  const f = fakes();
  const sup = createSupervisor(f.ports, { deadCommandsMax: 1 });
  sup.start();
  ok(sup.createWorkspace(wsSpec()));
  const views = [0, 1, 2].map(() => ok(sup.runCommand('w', cmdSpec({ restartOnFailure: true }))));
  const live = ok(sup.runCommand('w', cmdSpec()));
  f.kernel.ignoreTerm.add(live.pid as number);
  for (const v of views) f.kernel.exit(v.pid as number, 1);
  void sup.stopWorkspace('w', 1000);
  const dead = ok(sup.listCommands('w')).filter((c) => !c.alive);
  expect(dead).toHaveLength(1);
});
