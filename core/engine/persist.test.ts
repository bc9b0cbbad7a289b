import { cmdSpec, FakeStore, fakes, ok, pipeSpec, setup, wsSpec } from '../../testing/fakes.js';
import { createSupervisor } from './supervisor.js';

describe('persistence', () => {
  it('fails a workspace create when the write-through fails, and leaves no trace', () => {
    const { f, sup } = setup();
    f.store.failWrites = true;
    const r = sup.createWorkspace(wsSpec());
    expect(r.ok ? null : r.error.code).toBe('unavailable');
    expect(sup.listWorkspaces()).toEqual([]);
    f.store.failWrites = false;
    expect(sup.createWorkspace(wsSpec()).ok).toBe(true);
  });

  it('restores workspaces with their ids and relaunches supervised pipelines once', () => {
    const first = setup();
    const { id } = ok(first.sup.createWorkspace(wsSpec()));
    const restart = { ...pipeSpec().restart, restartOnFailure: true };
    const p = ok(first.sup.runPipeline(pipeSpec({ restart }), { tap: false, source: 'src' }));
    ok(
      first.sup.savePipeline(
        'saved',
        [
          'label = "x"',
          'workspace = "w"',
          '[[nodes]]',
          'label = "a"',
          'payload.Native = { exec = "/bin/true", argv = [], envp = [] }',
        ].join('\n'),
      ),
    );
    const second = setup(first.f.store);
    expect(ok(second.sup.getWorkspace('w')).id).toBe(id);
    expect(ok(second.sup.getPipeline(p.id)).state).toBe('running');
    expect(second.f.kernel.groups).toHaveLength(1);
    expect(second.sup.listSavedPipelines().map((s) => s.name)).toEqual(['saved']);
    expect(ok(second.sup.listCommands('w'))).toEqual([]);
  });

  it('sets a corrupt snapshot aside loudly instead of overwriting it', () => {
    const store = new FakeStore();
    store.text = '{not json';
    const f = fakes(store);
    const sup = createSupervisor(f.ports);
    const report = sup.start();
    expect(report.outcome).toBe('set-aside');
    expect(store.asideCount).toBe(1);
    expect(f.eventLog.named('snapshot-set-aside')).toHaveLength(1);
  });

  it('skips a write when the snapshot text did not change', () => {
    const { f, sup } = setup();
    ok(sup.createWorkspace(wsSpec()));
    const writes = f.store.writes;
    sup.flush();
    expect(f.store.writes).toBe(writes);
  });
});

describe('write-through', () => {
  it('rolls back a save, a drop and a workspace stop when the store refuses a write', async () => {
    const { f, sup } = setup();
    ok(sup.createWorkspace(wsSpec()));
    const pid = ok(sup.runCommand('w', cmdSpec())).pid;
    const source = [
      'label = "x"',
      'workspace = "w"',
      '[[nodes]]',
      'label = "a"',
      'payload.Native = { exec = "/bin/true", argv = [], envp = [] }',
    ].join('\n');
    f.store.failWrites = true;
    const saved = sup.savePipeline('s', source);
    expect(saved.ok ? null : saved.error.code).toBe('unavailable');
    expect(sup.listSavedPipelines()).toEqual([]);
    const stopped = await sup.stopWorkspace('w', 0);
    expect(stopped.ok ? null : stopped.error.code).toBe('unavailable');
    expect(f.kernel.signals).toEqual([]);
    expect(ok(sup.getWorkspace('w')).state).toBe('running');
    f.store.failWrites = false;
    ok(sup.savePipeline('s', source));
    f.store.failWrites = true;
    expect(sup.dropSavedPipeline('s').ok).toBe(false);
    expect(sup.listSavedPipelines().map((s) => s.name)).toEqual(['s']);
    expect(pid).not.toBeNull();
  });

  it('refuses to save a pipeline source that does not parse, naming the field', () => {
    const { sup } = setup();
    const r = sup.savePipeline('bad', 'label = 3\n');
    expect(r.ok ? null : r.error.code).toBe('invalid');
  });

  it('writes derived changes (stats) later, after saveDelayMs, not at once', () => {
    const { f, sup } = setup();
    ok(sup.createWorkspace(wsSpec()));
    ok(sup.runCommand('w', cmdSpec()));
    f.kernel.stats = { alive: 1, rssBytes: 4096, cpuUs: 10 };
    const writes = f.store.writes;
    f.clock.advance(1000);
    expect(f.store.writes).toBe(writes);
    f.clock.advance(200);
    expect(f.store.writes).toBe(writes + 1);
    expect(f.store.text).toMatch(/"rssBytes": ?4096/);
  });

  it('sets a snapshot from a newer version aside and starts empty', () => {
    const store = new FakeStore();
    store.text = JSON.stringify({ version: 99, workspaces: [] });
    const f = fakes(store);
    const report = createSupervisor(f.ports).start();
    expect(report).toMatchObject({ outcome: 'set-aside', workspaces: 0 });
    expect(report.message).toContain('newer');
  });

  it('restores the stats history persisted with a workspace', () => {
    const first = setup();
    ok(first.sup.createWorkspace(wsSpec()));
    ok(first.sup.runCommand('w', cmdSpec()));
    first.f.kernel.stats = { alive: 1, rssBytes: 8192, cpuUs: 10 };
    first.f.clock.advance(1200);
    const second = setup(first.f.store);
    const stats = ok(second.sup.stats('w'));
    expect(stats.source).toBe('persisted');
    expect(stats.history.map((h) => h.rssBytes)).toEqual([8192]);
  });
});

describe('shutdown', () => {
  it('flushes, then after close arms no timer and writes nothing while children die', () => {
    const { f, sup } = setup();
    ok(sup.createWorkspace(wsSpec()));
    const restart = { ...pipeSpec().restart, restartOnFailure: true };
    const p = ok(sup.runPipeline(pipeSpec({ restart }), { tap: false }));
    sup.flush();
    sup.close();
    const text = f.store.text;
    for (const pid of f.kernel.pidsOf(p.id)) f.kernel.exit(pid, 0);
    f.clock.advance(60_000);
    expect(f.clock.pending()).toBe(0);
    expect(f.store.text).toBe(text);
    expect(text).toContain(p.id);
  });
});
