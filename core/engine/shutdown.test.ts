import { caps, cmdSpec, ok, pipeSpec, setup, wsSpec } from '../../testing/fakes.js';
import { CGROUP_RETRY_MS, CGROUP_TRIES_MAX } from './step.js';

describe('daemon shutdown', () => {
  it('TERMs every child, KILLs the rest after the grace, settles when all are reaped', async () => {
    const { f, sup } = setup();
    ok(sup.createWorkspace(wsSpec()));
    const polite = ok(sup.runCommand('w', cmdSpec({ restartOnFailure: true }))).pid as number;
    const stubborn = ok(sup.runCommand('w', cmdSpec())).pid as number;
    f.kernel.ignoreTerm.add(stubborn);
    let settled = false;
    const done = sup.shutdown(500).then((r) => {
      settled = true;
      return r;
    });
    expect(f.kernel.signals).toEqual([
      { pid: polite, signal: 'SIGTERM' },
      { pid: stubborn, signal: 'SIGTERM' },
    ]);
    f.clock.advance(499);
    await Promise.resolve();
    expect(settled).toBe(false);
    f.clock.advance(1);
    expect(f.kernel.signals[2]).toEqual({ pid: stubborn, signal: 'SIGKILL' });
    expect(await done).toEqual({ ok: true, value: { reaped: 2 } });
    // The supervised command died of SIGTERM: a failure, yet nothing restarts.
    f.clock.advance(60_000);
    expect(f.kernel.alive.size).toBe(0);
    expect(f.kernel.spawns).toHaveLength(2);
  });

  it('leaves the snapshot as flushed: stopped children are not forgotten intent', async () => {
    const { f, sup } = setup();
    ok(sup.createWorkspace(wsSpec()));
    const spec = pipeSpec({ restart: { ...pipeSpec().restart, restartOnFailure: true } });
    ok(sup.runPipeline(spec, { tap: false, source: 'x' }));
    const before = f.store.text;
    const writes = f.store.writes;
    await sup.shutdown(0);
    f.clock.advance(10_000); // a deferred save would have fired by now
    expect(f.store.text).toBe(before);
    expect(f.store.writes).toBe(writes);
  });

  it('settles at once with nothing alive, and answers every caller the same', async () => {
    const { sup } = setup();
    const [a, b] = await Promise.all([sup.shutdown(1000), sup.shutdown(5)]);
    expect(a).toEqual({ ok: true, value: { reaped: 0 } });
    expect(b).toBe(a);
  });

  it('does not start a command waiting in backoff', async () => {
    const { f, sup } = setup();
    ok(sup.createWorkspace(wsSpec()));
    const view = ok(sup.runCommand('w', cmdSpec({ restartOnFailure: true })));
    f.kernel.exit(view.pid as number, 1);
    expect(ok(sup.getCommand('w', view.id)).state).toBe('backoff');
    await sup.shutdown(100);
    f.clock.advance(10_000);
    expect(f.kernel.spawns).toHaveLength(1);
  });
});

describe('a busy cgroup', () => {
  it('is removed again on a timer until it is free', async () => {
    const { f, sup } = setup(undefined, (g) => {
      g.cgroups.current = caps(true);
    });
    let busy = 2;
    const tries: number[] = [];
    f.cgroups.remove = (handle) => {
      tries.push(f.clock.nowMs());
      if (busy-- > 0) {
        const error = { _tag: 'PortError', port: 'Cgroups', method: 'remove' } as const;
        return { ok: false, error: { ...error, reason: 'Busy', message: `${handle}: busy` } };
      }
      return { ok: true, value: true };
    };
    ok(sup.createWorkspace(wsSpec({ cgroupPath: 'shipote/b' })));
    await sup.stopWorkspace('w', 0);
    f.clock.advance(10_000);
    const t0 = tries[0] as number;
    expect(tries).toEqual([t0, t0 + CGROUP_RETRY_MS, t0 + 3 * CGROUP_RETRY_MS]);
    expect(f.eventLog.named('cgroup-remove-gave-up')).toEqual([]);
  });

  it('is given up on after a bounded number of tries, with an event', async () => {
    const { f, sup } = setup(undefined, (g) => {
      g.cgroups.current = caps(true);
    });
    let tries = 0;
    f.cgroups.kill = (handle) => {
      tries += 1;
      const error = { _tag: 'PortError', port: 'Cgroups', method: 'kill' } as const;
      return { ok: false, error: { ...error, reason: 'Busy', message: `${handle}: busy` } };
    };
    ok(sup.createWorkspace(wsSpec({ cgroupPath: 'shipote/b' })));
    await sup.stopWorkspace('w', 0);
    f.clock.advance(60_000);
    expect(tries).toBe(CGROUP_TRIES_MAX);
    const gaveUp = f.eventLog.named('cgroup-kill-gave-up');
    expect(gaveUp.map((e) => e.fields)).toEqual([{ handle: 'cg:shipote/b', attempts: 5 }]);
  });
});
