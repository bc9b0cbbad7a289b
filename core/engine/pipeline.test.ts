import { cmdSpec, ok, pipeSpec, setup, wsSpec } from '../../testing/fakes.js';

describe('pipelines', () => {
  it('relaunches a supervised pipeline once every node is dead and one failed', () => {
    const { f, sup } = setup();
    ok(sup.createWorkspace(wsSpec()));
    const restart = { ...pipeSpec().restart, restartOnFailure: true, restartMax: 2 };
    const p = ok(sup.runPipeline(pipeSpec({ restart }), { tap: false }));
    const deaths = [200, 400];
    for (const delay of deaths) {
      const [a, b] = p.nodes.map(() => 0) && f.kernel.pidsOf(p.id);
      f.kernel.exit(a as number, 0);
      expect(ok(sup.getPipeline(p.id)).state).toBe('running');
      f.kernel.exit(b as number, 1);
      expect(ok(sup.getPipeline(p.id)).state).toBe('backoff');
      f.clock.advance(delay);
      expect(f.kernel.pidsOf(p.id)).toHaveLength(2);
    }
    for (const pid of f.kernel.pidsOf(p.id)) f.kernel.exit(pid, 1);
    expect(ok(sup.getPipeline(p.id)).state).toBe('gave-up');
    const giveUp = f.eventLog.named('give-up')[0]?.fields.message;
    expect(giveUp).toBe('restart_max reached — giving up');
  });

  it("stops only that pipeline's processes", async () => {
    const { f, sup } = setup();
    ok(sup.createWorkspace(wsSpec()));
    const other = ok(sup.runCommand('w', cmdSpec()));
    const p = ok(sup.runPipeline(pipeSpec(), { tap: false }));
    const pids = f.kernel.pidsOf(p.id);
    expect(await sup.stopPipeline(p.id, 100)).toEqual({ ok: true, value: { reaped: 2 } });
    expect(f.kernel.signals.map((s) => s.pid).sort()).toEqual(pids.sort());
    expect(ok(sup.getCommand('w', other.id)).alive).toBe(true);
  });

  it('publishes a tap verdict and the enriched producer event', () => {
    const { f, sup } = setup();
    ok(sup.createWorkspace(wsSpec()));
    const p = ok(sup.runPipeline(pipeSpec(), { tap: true }));
    expect(f.kernel.groups[0]?.req.taps).toHaveLength(1);
    const bytes = new TextEncoder().encode('{"hello": 1}\n');
    f.kernel.emit({ type: 'tap-sample', key: p.id, edgeIndex: 0, bytes });
    const v = ok(sup.getPipeline(p.id)).verdicts[0];
    expect(v).toMatchObject({ edgeIndex: 0, ty: 'json', mime: 'application/json' });
    expect(f.eventLog.named('shipote.flow.p.producer.stdout.json')).toHaveLength(1);
  });
});

describe('pipeline guards', () => {
  it('marks a pipeline crash-loop after more than crash_loop_max failures in the window', () => {
    const { f, sup } = setup();
    ok(sup.createWorkspace(wsSpec()));
    const restart = { ...pipeSpec().restart, restartOnFailure: true };
    const crashLoop = { deathsMax: 2, windowMs: 60_000 };
    const p = ok(sup.runPipeline(pipeSpec({ restart, crashLoop }), { tap: false }));
    for (let i = 0; i < 3; i++) {
      for (const pid of f.kernel.pidsOf(p.id)) f.kernel.exit(pid, 2);
      f.clock.advance(1000);
    }
    expect(ok(sup.getPipeline(p.id)).state).toBe('crash-loop');
    expect(f.kernel.groups).toHaveLength(3);
    expect(f.eventLog.named('crash-loop')).toHaveLength(1);
  });

  it('keeps retrying a supervised pipeline whose relaunch fails to spawn', () => {
    const { f, sup } = setup();
    ok(sup.createWorkspace(wsSpec()));
    const restart = { ...pipeSpec().restart, restartOnFailure: true };
    const p = ok(sup.runPipeline(pipeSpec({ restart }), { tap: false }));
    f.kernel.missing.add('/bin/cat');
    for (const pid of f.kernel.pidsOf(p.id)) f.kernel.exit(pid, 1);
    f.clock.advance(200);
    expect(ok(sup.getPipeline(p.id))).toMatchObject({ state: 'backoff', backoffMs: 400 });
    f.kernel.missing.delete('/bin/cat');
    f.clock.advance(400);
    expect(ok(sup.getPipeline(p.id)).state).toBe('running');
  });

  it('refuses a pipeline whose first spawn fails, leaving nothing behind', () => {
    const { f, sup } = setup();
    ok(sup.createWorkspace(wsSpec()));
    f.kernel.missing.add('/bin/cat');
    const r = sup.runPipeline(pipeSpec(), { tap: false });
    expect(r.ok ? null : r.error.code).toBe('spawn_failed');
    expect(sup.listPipelines()).toEqual([]);
  });

  it('marks a pipeline done when every node exits 0, and does not relaunch it', () => {
    const { f, sup } = setup();
    ok(sup.createWorkspace(wsSpec()));
    const restart = { ...pipeSpec().restart, restartOnFailure: true };
    const p = ok(sup.runPipeline(pipeSpec({ restart }), { tap: false }));
    for (const pid of f.kernel.pidsOf(p.id)) f.kernel.exit(pid, 0);
    f.clock.advance(5000);
    expect(ok(sup.getPipeline(p.id)).state).toBe('done');
    expect(f.kernel.groups).toHaveLength(1);
  });
});
