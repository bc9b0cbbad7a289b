/**
 * Command behaviour the mutation run found unpinned: what the spawn request asks the
 * kernel for, the lifecycle events and their fields, notify and watchdog edges, resource
 * retries, second stops, stops of dead commands and the refusals of restart and stop.
 */

import { cmdSpec, ok, setup, wsSpec } from '../../testing/fakes.js';
import type { PortError } from '../ports.js';

function started(over: Parameters<typeof cmdSpec>[0] = {}) {
  const { f, sup } = setup();
  ok(sup.createWorkspace(wsSpec()));
  const view = ok(sup.runCommand('w', cmdSpec({ label: 'c', ...over })));
  const pid = () => f.kernel.pidsOf(view.id)[0] as number;
  const fields = (ev: string) => f.eventLog.named(ev).map((e) => e.fields);
  return { f, sup, view, pid, fields };
}

describe('the spawn request', () => {
  it('asks for a notify socket only for ready = "notify" or a watchdog', () => {
    const req = (over: Parameters<typeof cmdSpec>[0]) => started(over).f.kernel.spawns[0]?.req;
    expect(req({})).toMatchObject({ notify: false, watchdogUs: 0 });
    expect(req({ ready: 'notify' })).toMatchObject({ notify: true, watchdogUs: 0 });
    expect(req({ watchdogMs: 500 })).toMatchObject({ notify: true, watchdogUs: 500_000 });
  });

  it('names a user, a group and log limits only when the spec sets them', () => {
    const plain = started().f.kernel.spawns[0]?.req;
    expect(plain).not.toHaveProperty('user');
    expect(plain).not.toHaveProperty('group');
    expect(plain).not.toHaveProperty('logs');
    const logs = { maxBytes: 4096, keep: 2 };
    const set = started({ user: 'nobody', group: 'nogroup', logs }).f.kernel.spawns[0]?.req;
    expect(set).toMatchObject({ user: 'nobody', group: 'nogroup', logs });
  });
});

describe('lifecycle events', () => {
  it('writes run, exit and restart with the command, its pid and the counts', () => {
    const { f, view, pid, fields } = started({ restartOnFailure: true });
    const first = pid();
    const who = { ws: view.workspaceId, cmd: view.id, label: 'c' };
    f.kernel.exit(first, 3);
    f.clock.advance(200);
    expect(fields('run')).toEqual([
      { ...who, pid: first, restarts: 0 },
      { ...who, pid: pid(), restarts: 1 },
    ]);
    expect(fields('exit')[0]).toMatchObject({ ...who, pid: first, code: 3, status: 3 });
    expect(fields('restart')).toEqual([{ ...who, backoff_ms: 200, restarts: 1 }]);
  });

  it('starts the backoff over after a run that stayed up for the reset time', () => {
    const { f, sup, view, pid } = started({ restartOnFailure: true, crashLoopMax: 0 });
    for (const waitMs of [200, 400]) {
      f.kernel.exit(pid(), 1);
      f.clock.advance(waitMs);
    }
    f.clock.advance(9_999);
    f.kernel.exit(pid(), 1);
    expect(ok(sup.getCommand('w', view.id)).backoffMs).toBe(800);
    f.clock.advance(800 + 10_000);
    f.kernel.exit(pid(), 1);
    const cmd = ok(sup.getCommand('w', view.id));
    expect(cmd).toMatchObject({ state: 'backoff', backoffMs: 200 });
  });
});

describe('notify and watchdog', () => {
  it('arms the ready timeout only with ready = "notify" and a timeout set', () => {
    const exec = started({ readyTimeoutMs: 100 });
    exec.f.clock.advance(1000);
    expect(exec.fields('ready-timeout')).toEqual([]);
    const untimed = started({ ready: 'notify' });
    untimed.f.clock.advance(60_000);
    expect(untimed.fields('ready-timeout')).toEqual([]);
    const timed = started({ ready: 'notify', readyTimeoutMs: 100 });
    const pid = timed.pid();
    timed.f.clock.advance(100);
    const who = { ws: timed.view.workspaceId, cmd: timed.view.id, label: 'c', pid };
    expect(timed.fields('ready-timeout')).toEqual([{ ...who, ready_timeout_ms: 100 }]);
    expect(timed.f.kernel.signals).toEqual([{ pid, signal: 'SIGKILL' }]);
  });

  it('reads READY=1 among other lines, trimmed, and then cancels the ready timeout', () => {
    const { f, sup, view, pid, fields } = started({ ready: 'notify', readyTimeoutMs: 100 });
    f.kernel.emit({ type: 'notify', pid: pid(), message: 'STATUS=up\n READY=1 \n' });
    expect(ok(sup.getCommand('w', view.id)).state).toBe('running');
    const who = { ws: view.workspaceId, cmd: view.id, label: 'c', pid: pid() };
    expect(fields('ready')).toEqual([who]);
    f.clock.advance(1000);
    expect(fields('ready-timeout')).toEqual([]);
    expect(f.kernel.signals).toEqual([]);
  });

  it('counts WATCHDOG=1 only once running, and each ping moves the deadline', () => {
    const { f, view, pid: pidNow, fields } = started({ ready: 'notify', watchdogMs: 100 });
    const pid = pidNow();
    const ping = () => f.kernel.emit({ type: 'notify', pid, message: 'WATCHDOG=1' });
    ping(); // before READY=1: arms nothing
    f.clock.advance(500);
    expect(f.kernel.signals).toEqual([]);
    f.kernel.emit({ type: 'notify', pid, message: 'READY=1' });
    f.clock.advance(90);
    ping();
    f.clock.advance(90);
    expect(f.kernel.signals).toEqual([]);
    f.clock.advance(10);
    expect(f.kernel.signals).toEqual([{ pid, signal: 'SIGKILL' }]);
    const who = { ws: view.workspaceId, cmd: view.id, label: 'c', pid };
    expect(fields('watchdog')).toEqual([{ ...who, watchdog_ms: 100 }]);
  });
});

describe('spawn failures', () => {
  const limit: PortError = {
    _tag: 'PortError',
    port: 'Kernel',
    method: 'spawn',
    reason: 'LimitExceeded',
    message: 'fork: EMFILE',
  };

  it('retries a restart that found the daemon out of resources after at least 1 s', () => {
    const { f, sup, view, pid, fields } = started({ restartOnFailure: true });
    f.kernel.exit(pid(), 1);
    const spawn = f.kernel.spawn.bind(f.kernel);
    f.kernel.spawn = () => ({ ok: false, error: limit });
    f.clock.advance(200);
    const who = { ws: view.workspaceId, cmd: view.id, label: 'c' };
    expect(fields('spawn-failed')).toEqual([
      { ...who, reason: 'LimitExceeded', message: 'fork: EMFILE' },
    ]);
    expect(fields('spawn-deferred')).toEqual([
      { ...who, reason: 'LimitExceeded', backoff_ms: 1000 },
    ]);
    expect(ok(sup.getCommand('w', view.id))).toMatchObject({ state: 'backoff', restarts: 1 });
    f.kernel.spawn = spawn;
    f.clock.advance(999);
    expect(f.kernel.pidsOf(view.id)).toEqual([]);
    f.clock.advance(1);
    expect(f.kernel.pidsOf(view.id)).toHaveLength(1);
  });

  it('counts a later failed spawn as a death: the next backoff doubles', () => {
    const { f, sup, view, pid, fields } = started({ restartOnFailure: true });
    f.kernel.exit(pid(), 1);
    f.kernel.missing.add('/bin/sleep');
    f.clock.advance(200);
    expect(ok(sup.getCommand('w', view.id))).toMatchObject({ state: 'backoff', backoffMs: 400 });
    expect(fields('restart').map((r) => r.backoff_ms)).toEqual([200, 400]);
  });
});

describe('stops', () => {
  it('refuses an operator restart of a command being stopped', async () => {
    const { f, sup, view, pid } = started();
    f.kernel.ignoreTerm.add(pid());
    const stopped = sup.stopCommand('w', view.id, 1000);
    const r = await sup.restartCommand('w', view.id);
    expect(r).toEqual({
      ok: false,
      error: { code: 'conflict', message: 'command "c" is stopping' },
    });
    f.clock.advance(1000);
    expect(await stopped).toEqual({ ok: true, value: { reaped: 1 } });
  });

  it('brings the SIGKILL forward on a second stop with a shorter grace, never back', async () => {
    const { f, sup, view, pid } = started();
    const first = pid();
    f.kernel.ignoreTerm.add(first);
    const kills = () => f.kernel.signals.filter((s) => s.signal === 'SIGKILL');
    const a = sup.stopCommand('w', view.id, 1000);
    f.clock.advance(100);
    const b = sup.stopCommand('w', view.id, 5000); // later than the first: no change
    f.clock.advance(400);
    const c = sup.stopCommand('w', view.id, 300); // at 800, before 1000
    f.clock.advance(299);
    expect(kills()).toEqual([]);
    f.clock.advance(1);
    expect(kills()).toEqual([{ pid: first, signal: 'SIGKILL' }]);
    for (const p of [a, b, c]) expect((await p).ok).toBe(true);
    expect(f.eventLog.named('command-stop').map((e) => e.fields.grace_ms)).toEqual([
      1000, 5000, 300,
    ]);
  });

  it('kills at once on a second stop with no grace, and a remove wins over a stop', async () => {
    const { f, sup, view, pid } = started();
    f.kernel.ignoreTerm.add(pid());
    const stop = sup.stopCommand('w', view.id, 1000);
    const remove = sup.removeCommand('w', view.id, 0);
    expect(f.kernel.signals.map((s) => s.signal)).toEqual(['SIGTERM', 'SIGKILL']);
    expect(await remove).toEqual({ ok: true, value: true });
    expect((await stop).ok).toBe(true);
    expect(ok(sup.listCommands('w'))).toEqual([]);
    expect(f.eventLog.named('command-remove')).toHaveLength(1);
  });

  it('keeps a pending remove when a plain stop follows it', async () => {
    const { f, sup, view, pid } = started();
    f.kernel.ignoreTerm.add(pid());
    const remove = sup.removeCommand('w', view.id, 1000);
    const stop = sup.stopCommand('w', view.id, 1000);
    f.clock.advance(1000);
    expect((await remove).ok).toBe(true);
    expect((await stop).ok).toBe(true);
    expect(ok(sup.listCommands('w'))).toEqual([]);
  });

  it('stops a command in backoff at once, and removes a dead one', async () => {
    const { f, sup, view, pid } = started({ restartOnFailure: true });
    f.kernel.exit(pid(), 1);
    expect(await sup.stopCommand('w', view.id, 1000)).toEqual({ ok: true, value: { reaped: 0 } });
    expect(ok(sup.getCommand('w', view.id)).state).toBe('exited');
    f.clock.advance(10_000);
    expect(f.kernel.pidsOf(view.id)).toEqual([]);
    expect(await sup.removeCommand('w', view.id, 1000)).toEqual({ ok: true, value: true });
    expect(ok(sup.listCommands('w'))).toEqual([]);
    expect(f.kernel.released).toContain(view.id);
  });

  it('refuses an unknown workspace or command, and a stopping workspace', async () => {
    const { f, sup, view, pid } = started();
    expect(await sup.restartCommand('nope', view.id)).toEqual({
      ok: false,
      error: { code: 'not_found', message: 'no workspace "nope"' },
    });
    expect(await sup.stopCommand('w', 'nope', 0)).toEqual({
      ok: false,
      error: { code: 'not_found', message: 'no command "nope" in "w"' },
    });
    f.kernel.ignoreTerm.add(pid());
    const wsStop = sup.stopWorkspace('w', 1000);
    expect(await sup.restartCommand('w', view.id)).toEqual({
      ok: false,
      error: { code: 'conflict', message: 'workspace "w" is stopping' },
    });
    f.clock.advance(1000);
    expect((await wsStop).ok).toBe(true);
  });
});

describe('dependencies', () => {
  it('waits for every dependency, and for one that does not exist yet', () => {
    const { f, sup } = setup();
    ok(sup.createWorkspace(wsSpec()));
    ok(sup.runCommand('w', cmdSpec({ label: 'a', ready: 'notify' })));
    const c = ok(sup.runCommand('w', cmdSpec({ label: 'c', dependsOn: ['a', 'b'] })));
    const waiting = f.eventLog.named('waiting').map((e) => e.fields);
    expect(waiting).toEqual([{ ws: c.workspaceId, cmd: c.id, label: 'c', depends_on: 'a,b' }]);
    ok(sup.runCommand('w', cmdSpec({ label: 'b' })));
    expect(ok(sup.getCommand('w', c.id)).state).toBe('waiting');
    const [a] = ok(sup.listCommands('w'));
    f.kernel.emit({ type: 'notify', pid: a?.pid as number, message: 'READY=1' });
    expect(ok(sup.getCommand('w', c.id)).state).toBe('running');
  });
});
