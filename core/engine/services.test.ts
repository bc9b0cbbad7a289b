/**
 * Services (issue: services that outlive the daemon): persisted supervised commands,
 * lost one-shots, per-command control, readiness, dependencies, restart modes and the
 * daemon-resource rule for spawns.
 */

import {
  cmdSpec,
  type FakeStore,
  type Fakes,
  fakes,
  ok,
  pipeSpec,
  setup,
  wsSpec,
} from '../../testing/fakes.js';
import { decodeSnapshot } from '../snapshot/index.js';
import type { Supervisor } from './api.js';
import { createSupervisor } from './supervisor.js';

/** A daemon killed with -9 and started again over the same store (a new kernel: no children). */
function restartOver(store: FakeStore, skipIds = 50): { f: Fakes; sup: Supervisor } {
  const f = fakes(store);
  for (let i = 0; i < skipIds; i++) f.ids.next(); // the new daemon's ids are new ones
  const sup = createSupervisor(f.ports, { sampleEveryMs: 1000, saveDelayMs: 200 });
  sup.start();
  return { f, sup };
}

const limitExceeded = (message: string) => ({
  ok: false as const,
  error: {
    _tag: 'PortError' as const,
    port: 'Kernel' as const,
    method: 'spawn',
    reason: 'LimitExceeded' as const,
    message,
    errno: 24,
  },
});

describe('services across a daemon crash', () => {
  it('relaunches services with their ids and labels; running one-shots come back lost', () => {
    const { f, sup } = setup();
    ok(sup.createWorkspace(wsSpec()));
    const web = ok(sup.runCommand('w', cmdSpec({ label: 'web', restart: 'always' })));
    const job = ok(sup.runCommand('w', cmdSpec({ label: 'job' })));
    const done = ok(sup.runCommand('w', cmdSpec({ label: 'done' })));
    f.kernel.exit(done.pid as number, 0);
    f.clock.advance(200); // its exit is saved (deferred); then kill -9
    const next = restartOver(f.store);
    const views = ok(next.sup.listCommands('w'));
    expect(views.map((v) => [v.id, v.label, v.state])).toEqual([
      [web.id, 'web', 'running'],
      [job.id, 'job', 'lost'],
    ]);
    expect(views[1]).toMatchObject({ alive: false, exit: null });
    expect(next.f.kernel.spawns.map((s) => s.key)).toEqual([web.id]);
    expect(next.f.eventLog.named('lost').map((e) => e.fields.label)).toEqual(['job']);
  });

  it('forgets the lost one-shot at the next save, and keeps the service', () => {
    const { f, sup } = setup();
    ok(sup.createWorkspace(wsSpec()));
    ok(sup.runCommand('w', cmdSpec({ label: 'web', restartOnFailure: true })));
    ok(sup.runCommand('w', cmdSpec({ label: 'job' })));
    const next = restartOver(f.store);
    next.f.clock.advance(1000);
    const saved = decodeSnapshot(next.f.store.text ?? '');
    const labels = saved.ok ? saved.snapshot.commands.map((c) => c.spec.label) : [];
    expect(labels).toEqual(['web']);
  });

  it('after a graceful stop, relaunches services; one-shots it ended are not lost', async () => {
    const { f, sup } = setup();
    ok(sup.createWorkspace(wsSpec()));
    ok(sup.runCommand('w', cmdSpec({ label: 'web', restart: 'on-failure' })));
    ok(sup.runCommand('w', cmdSpec({ label: 'job' })));
    await sup.shutdown(100);
    sup.close();
    const next = restartOver(f.store);
    const views = ok(next.sup.listCommands('w'));
    expect(views.map((v) => [v.label, v.state])).toEqual([['web', 'running']]);
  });

  it('keeps a service that a shutdown catches in the middle of an operator restart', async () => {
    const { f, sup } = setup();
    ok(sup.createWorkspace(wsSpec()));
    const web = ok(sup.runCommand('w', cmdSpec({ label: 'web', restart: 'on-failure' })));
    f.kernel.ignoreTerm.add(web.pid as number);
    const restarting = sup.restartCommand('w', 'web'); // TERM sent, waiting for the exit
    const down = sup.shutdown(100);
    f.clock.advance(100); // the grace: SIGKILL
    expect((await down).ok).toBe(true);
    expect((await restarting).ok).toBe(true);
    expect(f.kernel.alive.size).toBe(0); // no respawn during the shutdown
    const next = restartOver(f.store);
    expect(ok(next.sup.listCommands('w')).map((v) => [v.label, v.state])).toEqual([
      ['web', 'running'],
    ]);
  });

  it('keeps dependency order on restore: a dependent waits for READY=1', () => {
    const { f, sup } = setup();
    ok(sup.createWorkspace(wsSpec()));
    const db = ok(
      sup.runCommand('w', cmdSpec({ label: 'db', restart: 'always', ready: 'notify' })),
    );
    f.kernel.emit({ type: 'notify', pid: db.pid as number, message: 'READY=1' });
    ok(sup.runCommand('w', cmdSpec({ label: 'app', restart: 'always', dependsOn: ['db'] })));
    const next = restartOver(f.store);
    expect(ok(next.sup.getCommand('w', 'app')).state).toBe('waiting');
    expect(next.f.kernel.spawns.map((s) => s.req.exec)).toHaveLength(1);
    const dbPid = ok(next.sup.getCommand('w', 'db')).pid as number;
    next.f.kernel.emit({ type: 'notify', pid: dbPid, message: 'READY=1' });
    expect(ok(next.sup.getCommand('w', 'app')).state).toBe('running');
  });
});

describe('per-command control', () => {
  it('stops one command: TERM, KILL after the grace; it stays listed, not restarted', async () => {
    const { f, sup } = setup();
    ok(sup.createWorkspace(wsSpec()));
    const view = ok(sup.runCommand('w', cmdSpec({ label: 'web', restart: 'always' })));
    f.kernel.ignoreTerm.add(view.pid as number);
    const stopped = sup.stopCommand('w', 'web', 300);
    expect(f.kernel.signals).toEqual([{ pid: view.pid, signal: 'SIGTERM' }]);
    f.clock.advance(300);
    expect(await stopped).toEqual({ ok: true, value: { reaped: 1 } });
    f.clock.advance(60_000);
    expect(ok(sup.getCommand('w', 'web'))).toMatchObject({ state: 'exited', alive: false });
    expect(f.kernel.spawns).toHaveLength(1);
    const next = restartOver(f.store);
    expect(ok(next.sup.listCommands('w'))).toEqual([]); // a stopped service is not relaunched
  });

  it('removes a command: stopped first, then gone from the list and the snapshot', async () => {
    const { f, sup } = setup();
    ok(sup.createWorkspace(wsSpec()));
    ok(sup.runCommand('w', cmdSpec({ label: 'web', restart: 'always' })));
    expect(await sup.removeCommand('w', 'web', 100)).toEqual({ ok: true, value: true });
    expect(ok(sup.listCommands('w'))).toEqual([]);
    const saved = decodeSnapshot(f.store.text ?? '');
    expect(saved.ok && saved.snapshot.commands).toEqual([]);
    const again = await sup.removeCommand('w', 'web', 100);
    expect(again.ok ? null : again.error.code).toBe('not_found');
  });

  it('restarts a command and answers with the new pid', async () => {
    const { sup } = setup();
    ok(sup.createWorkspace(wsSpec()));
    const view = ok(sup.runCommand('w', cmdSpec({ label: 'web' })));
    const again = ok(await sup.restartCommand('w', 'web'));
    expect(again.pid).not.toBeNull();
    expect(again.pid).not.toBe(view.pid);
    expect(again.alive).toBe(true);
  });
});

describe('pipelines by label', () => {
  it('restarts a pipeline by its label, with fresh pids', async () => {
    const { f, sup } = setup();
    ok(sup.createWorkspace(wsSpec()));
    const first = ok(sup.runPipeline(pipeSpec({ label: 'etl' }), { tap: false }));
    const again = ok(await sup.restartPipeline('etl'));
    expect(again.id).toBe(first.id);
    expect(again.nodes.map((n) => n.pid)).not.toEqual(first.nodes.map((n) => n.pid));
    expect(f.kernel.signals.map((s) => s.signal)).toEqual(['SIGTERM', 'SIGTERM']);
  });

  it('refuses an ambiguous label, listing the ids', async () => {
    const { sup } = setup();
    ok(sup.createWorkspace(wsSpec()));
    const a = ok(sup.runPipeline(pipeSpec({ label: 'etl' }), { tap: false }));
    const b = ok(sup.runPipeline(pipeSpec({ label: 'etl' }), { tap: false }));
    const r = sup.getPipeline('etl');
    expect(r.ok ? null : r.error).toEqual({
      code: 'conflict',
      message: `pipeline label "etl" is ambiguous: ${a.id}, ${b.id}; use an id`,
    });
    const stopped = await sup.stopPipeline(a.id, 0);
    expect(stopped.ok).toBe(true);
    expect(ok(sup.getPipeline('etl')).id).toBe(b.id); // the one still live
  });
});

describe('restart_max and the crash-loop guard', () => {
  it('gives a pipeline with restart_max = 5 up with its message under the default guard', () => {
    const { f, sup } = setup();
    ok(sup.createWorkspace(wsSpec()));
    const base = pipeSpec();
    const spec = pipeSpec({ restart: { ...base.restart, restartOnFailure: true, restartMax: 5 } });
    expect(spec.crashLoop).toEqual({ deathsMax: 3, windowMs: 300_000 });
    const view = ok(sup.runPipeline(spec, { tap: false }));
    for (let i = 0; i < 6; i++) {
      // Each incarnation fails at once (well under reset_after): one incident.
      for (const pid of f.kernel.pidsOf(view.id)) f.kernel.exit(pid, 1);
      f.clock.advance(ok(sup.getPipeline(view.id)).backoffMs); // the next incarnation starts
    }
    expect(ok(sup.getPipeline(view.id)).state).toBe('gave-up');
    const gaveUp = f.eventLog.named('give-up').map((e) => e.fields.message);
    expect(gaveUp).toEqual(['restart_max reached — giving up']);
    expect(f.eventLog.named('crash-loop')).toEqual([]);
  });
});

describe('readiness and restart modes', () => {
  it('fails a command that never sends READY=1 within readyTimeoutMs, like a crash', () => {
    const { f, sup } = setup();
    ok(sup.createWorkspace(wsSpec()));
    const spec = cmdSpec({ restart: 'on-failure', ready: 'notify', readyTimeoutMs: 500 });
    const view = ok(sup.runCommand('w', spec));
    f.clock.advance(500);
    expect(ok(sup.getCommand('w', view.id))).toMatchObject({ state: 'backoff', alive: false });
  });

  it('tells the child its watchdog period in µs', () => {
    const { f, sup } = setup();
    ok(sup.createWorkspace(wsSpec()));
    ok(sup.runCommand('w', cmdSpec({ watchdogMs: 1500, user: 'nobody' })));
    expect(f.kernel.spawns[0]?.req).toMatchObject({ watchdogUs: 1_500_000, user: 'nobody' });
  });

  it('restarts a clean exit with restart = "always" but not with "on-failure"', () => {
    const { f, sup } = setup();
    ok(sup.createWorkspace(wsSpec()));
    const always = ok(sup.runCommand('w', cmdSpec({ restart: 'always', backoffMs: 50 })));
    const onFailure = ok(sup.runCommand('w', cmdSpec({ restart: 'on-failure' })));
    f.clock.advance(1000); // past the start throttle
    f.kernel.exit(always.pid as number, 0);
    f.kernel.exit(onFailure.pid as number, 0);
    expect(ok(sup.getCommand('w', always.id))).toMatchObject({ state: 'backoff', backoffMs: 50 });
    expect(ok(sup.getCommand('w', onFailure.id)).state).toBe('exited');
    f.clock.advance(50);
    expect(f.kernel.pidsOf(always.id)).toHaveLength(1);
  });
});

describe('a spawn that fails for lack of a daemon resource (EMFILE)', () => {
  it('is retried after a backoff, never counted as a death or a crash-loop strike', () => {
    const { f, sup } = setup();
    ok(sup.createWorkspace(wsSpec()));
    const view = ok(sup.runCommand('w', cmdSpec({ restart: 'always', crashLoopMax: 1 })));
    f.kernel.exit(view.pid as number, 1); // one real death: one under the guard's limit
    const spawn = f.kernel.spawn.bind(f.kernel);
    let exhausted = true;
    f.kernel.spawn = (key, req) =>
      exhausted ? limitExceeded('Too many open files') : spawn(key, req);
    f.clock.advance(60_000); // many retries while the fds are gone
    expect(ok(sup.getCommand('w', view.id)).state).toBe('backoff');
    expect(f.eventLog.named('crash-loop')).toEqual([]);
    expect(f.eventLog.named('spawn-deferred').length).toBeGreaterThan(3);
    exhausted = false;
    f.clock.advance(60_000);
    expect(ok(sup.getCommand('w', view.id))).toMatchObject({ state: 'running', alive: true });
  });
});
