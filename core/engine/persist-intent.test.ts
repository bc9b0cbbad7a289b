/**
 * What the snapshot keeps and what a restore makes of it (persist.ts): saved pipeline
 * names, commands skipped or lost on restore, a workspace's time to live and stats peak
 * carried over, and the one-shots a daemon's own stop leaves out.
 */

import { caps, cmdSpec, type FakeStore, ok, pipeSpec, setup, wsSpec } from '../../testing/fakes.js';
import { emptySnapshot, type PersistedCommand, type Snapshot } from '../snapshot/index.js';
import type { EngineState } from './model.js';
import { initialState, step } from './step.js';

const NATIVE = 'payload.Native = { exec = "/bin/true", argv = [], envp = [] }';
const SOURCE = ['label = "x"', 'workspace = "w"', '[[nodes]]', 'label = "a"', NATIVE].join('\n');

function edit(store: FakeStore, change: (raw: Snapshot) => void): void {
  const raw: Snapshot = JSON.parse(store.text ?? '');
  change(raw);
  store.text = JSON.stringify(raw);
}

const written = (store: FakeStore) => JSON.parse(store.text ?? '{}');

describe('saved pipeline names', () => {
  it.each(['', 'a b', 'a/b', 'tab\there', 'line\nbreak', ' lead'])('refuses %j', (name) => {
    const { f, sup } = setup();
    const writes = f.store.writes;
    const r = sup.savePipeline(name, SOURCE);
    expect(r.ok ? null : r.error).toMatchObject({
      code: 'invalid',
      field: 'name',
      message: `name must be non-empty without spaces or '/', got ${JSON.stringify(name)}`,
    });
    expect(f.store.writes).toBe(writes);
    expect(sup.listSavedPipelines()).toEqual([]);
  });

  it.each(['a', 'a-b', 'x.y_z', 'ünï'])('accepts %j and writes it through', (name) => {
    const { f, sup } = setup();
    ok(sup.savePipeline(name, SOURCE));
    expect(written(f.store).savedPipelines.map((s: { name: string }) => s.name)).toEqual([name]);
    const logged = f.eventLog.named('pipeline-save').map((e) => e.fields);
    expect(logged).toEqual([{ name, bytes: SOURCE.length }]);
  });

  it('drops a saved pipeline, writing through, and refuses an unknown name', () => {
    const { f, sup } = setup();
    ok(sup.savePipeline('keep', SOURCE));
    const r = sup.dropSavedPipeline('nope');
    expect(r.ok ? null : r.error).toMatchObject({
      code: 'not_found',
      message: 'no saved pipeline "nope"',
    });
    ok(sup.dropSavedPipeline('keep'));
    expect(written(f.store).savedPipelines).toEqual([]);
    expect(f.eventLog.named('pipeline-drop').map((e) => e.fields)).toEqual([{ name: 'keep' }]);
  });
});

/** A store with workspace "w" running a service "web" (2 restarts in the file). */
function withService(): { store: FakeStore; wsId: string; cmdId: string } {
  const { f, sup } = setup();
  const wsId = ok(sup.createWorkspace(wsSpec())).id;
  const cmdId = ok(sup.runCommand('w', cmdSpec({ label: 'web', restart: 'always' }))).id;
  sup.flush();
  edit(f.store, (raw) => {
    for (const c of raw.commands) c.restarts = 2;
  });
  return { store: f.store, wsId, cmdId };
}

describe('commands on restore', () => {
  it('brings a service back with its id, label and restart count, and starts it', () => {
    const { store, cmdId } = withService();
    const { f, sup } = setup(store);
    const view = ok(sup.getCommand('w', 'web'));
    expect(view).toMatchObject({ id: cmdId, state: 'running', restarts: 2 });
    expect(f.kernel.pidsOf(cmdId)).toHaveLength(1);
    expect(f.eventLog.named('restore')[0]?.fields).toEqual({
      workspaces: 1,
      saved_pipelines: 0,
      live_pipelines: 0,
      commands: 1,
    });
  });

  it('skips a command whose label is taken, or whose workspace is gone, and says why', () => {
    const { store, wsId, cmdId } = withService();
    edit(store, (raw) => {
      const web = raw.commands[0] as PersistedCommand;
      raw.commands.push({ ...web, id: 'TWIN' }, { ...web, id: 'ORPHAN', workspaceId: 'GONE' });
    });
    const { f, sup } = setup(store);
    const skips = f.eventLog.named('restore-skip').map((e) => e.fields);
    expect(skips).toEqual([
      { cmd: 'TWIN', label: 'web', reason: 'duplicate id or label' },
      { cmd: 'ORPHAN', label: 'web', reason: 'no workspace' },
    ]);
    expect(ok(sup.listCommands('w')).map((c) => c.id)).toEqual([cmdId]);
    // The skipped entries leave the file with the next deferred write.
    f.clock.now = f.clock.now + 200;
    expect(written(store).commands.map((c: { id: string }) => c.id)).toEqual([cmdId]);
    expect(written(store).workspaces.map((w: { id: string }) => w.id)).toEqual([wsId]);
  });

  it('skips a second record with an id already restored (the engine, below the decoder)', () => {
    const options = { sampleEveryMs: 1000, saveDelayMs: 200, deadCommandsMax: 8, cores: 1 };
    let state = step(initialState(options), { type: 'daemon-started', caps: caps(false) }, 0).state;
    state = step(state, { type: 'workspace-create', id: 'WS', spec: wsSpec(), wallMs: 0 }, 0).state;
    const record = (label: string) => ({
      id: 'SAME',
      workspaceId: 'WS',
      spec: cmdSpec({ label, restart: 'always' }),
      restarts: 0,
      backoffMs: 0,
    });
    const commands = [record('web'), record('web2')];
    const r = step(state, { type: 'commands-restored', commands }, 0);
    const skips = r.effects.filter((e) => e.type === 'append-event' && e.ev === 'restore-skip');
    expect(skips.map((e) => (e.type === 'append-event' ? e.fields : null))).toEqual([
      { cmd: 'SAME', label: 'web2', reason: 'duplicate id or label' },
    ]);
    expect([...r.state.commands.values()].map((c) => c.label)).toEqual(['web']);
  });

  it('reports a one-shot that was running as lost, once, and writes that down', () => {
    const first = setup();
    const wsId = ok(first.sup.createWorkspace(wsSpec())).id;
    const job = ok(first.sup.runCommand('w', cmdSpec({ label: 'job' })));
    first.sup.flush();
    const { f, sup } = setup(first.f.store);
    expect(ok(sup.getCommand('w', 'job')).state).toBe('lost');
    expect(f.kernel.pidsOf(job.id)).toEqual([]);
    const lost = f.eventLog.named('lost').map((e) => e.fields);
    expect(lost).toEqual([{ ws: wsId, cmd: job.id, label: 'job' }]);
    // A lost record is not promised again: the next write leaves it out.
    f.clock.now = f.clock.now + 200;
    expect(written(f.store).commands).toEqual([]);
  });
});

describe('what the file holds', () => {
  it('a workspace without samples has no stats entry', () => {
    const { f, sup } = setup();
    ok(sup.createWorkspace(wsSpec()));
    sup.flush();
    expect(written(f.store).workspaces).toHaveLength(1);
    expect(written(f.store).stats).toEqual([]);
  });

  it('drops a service stopped for good at once, keeps one on its way to a restart', () => {
    const { f, sup } = setup();
    ok(sup.createWorkspace(wsSpec()));
    const web = ok(sup.runCommand('w', cmdSpec({ label: 'web', restart: 'always' })));
    const api = ok(sup.runCommand('w', cmdSpec({ label: 'api', restart: 'always' })));
    // Both ignore SIGTERM: they stay stopping until the grace is over.
    for (const c of [web, api]) f.kernel.ignoreTerm.add(c.pid as number);
    void sup.restartCommand('w', 'api');
    void sup.stopCommand('w', 'web', 5_000);
    // Stopping shows as running until the process is gone.
    expect(ok(sup.getCommand('w', 'web')).state).toBe('running');
    expect(f.kernel.signals.map((s) => s.signal)).toEqual(['SIGTERM', 'SIGTERM']);
    expect(written(f.store).commands.map((c: { id: string }) => c.id)).toEqual([api.id]);
  });

  it('keeps a one-shot that is still starting (it will be reported lost)', () => {
    const { f, sup } = setup();
    ok(sup.createWorkspace(wsSpec()));
    const job = ok(sup.runCommand('w', cmdSpec({ label: 'job', ready: 'notify' })));
    expect(ok(sup.getCommand('w', 'job')).state).toBe('starting');
    // Another change written through writes the whole state as it is now.
    ok(sup.createWorkspace(wsSpec({ label: 'other' })));
    expect(written(f.store).commands.map((c: { id: string }) => c.id)).toEqual([job.id]);
  });
});

describe('workspaces on restore', () => {
  it('keeps what is left of a time to live, counted on the wall clock', () => {
    const first = setup();
    const ttlMs = 10_000;
    ok(first.sup.createWorkspace(wsSpec({ ttlMs })));
    const createdAtWallMs = ok(first.sup.getWorkspace('w')).createdAtWallMs;
    const { f, sup } = setup(first.f.store, (g) => {
      g.clock.now = g.clock.now + 4_000;
    });
    const restartWallMs = f.clock.wallMs();
    expect(restartWallMs - createdAtWallMs).toBe(4_000);
    const expiresAtMs = f.clock.now + 6_000;
    f.clock.now = expiresAtMs - 1;
    expect(ok(sup.getWorkspace('w')).state).toBe('running');
    f.clock.now = expiresAtMs;
    expect(sup.listWorkspaces().map((w) => w.state)).not.toContain('running');
  });

  it('takes the peak memory from the persisted samples', () => {
    const first = setup();
    ok(first.sup.createWorkspace(wsSpec()));
    first.sup.flush();
    edit(first.f.store, (raw) => {
      const ws = raw.workspaces[0]?.id ?? '';
      const sample = (rssBytes: number, wallMs: number) => ({
        wallMs,
        rssBytes,
        cpuUs: 0,
        cpuPermille: 0,
      });
      const samples = [sample(300, 1), sample(9_000, 2), sample(40, 3)];
      raw.stats = [{ workspaceId: ws, samples }];
    });
    const { sup } = setup(first.f.store);
    const stats = ok(sup.stats('w'));
    expect(stats.rssPeakBytes).toBe(9_000);
    expect(stats.history.map((s) => s.rssBytes)).toEqual([300, 9_000, 40]);
  });
});

describe('the daemon stop', () => {
  it('keeps its services in the snapshot and leaves its one-shots out', async () => {
    const { f, sup } = setup();
    ok(sup.createWorkspace(wsSpec()));
    const web = ok(sup.runCommand('w', cmdSpec({ label: 'web', restart: 'on-failure' })));
    ok(sup.runCommand('w', cmdSpec({ label: 'job' })));
    sup.flush();
    expect(written(f.store).commands).toHaveLength(2);
    const stopped = sup.shutdown(1000);
    for (const c of ok(sup.listCommands('w'))) {
      for (const pid of f.kernel.pidsOf(c.id)) f.kernel.exit(pid, null, 'SIGTERM');
    }
    f.clock.now = f.clock.now + 2_000;
    await stopped;
    expect(written(f.store).commands.map((c: { id: string }) => c.id)).toEqual([web.id]);
  });
});

describe('restore steps, below the supervisor', () => {
  const options = { sampleEveryMs: 1000, saveDelayMs: 200, deadCommandsMax: 8, cores: 1 };
  const started = () =>
    step(initialState(options), { type: 'daemon-started', caps: caps(false) }, 0).state;
  const withWs = (): EngineState =>
    step(started(), { type: 'workspace-create', id: 'WS', spec: wsSpec(), wallMs: 0 }, 0).state;
  const live = {
    id: 'P1',
    spec: pipeSpec(),
    source: 'src',
    vars: {},
    tap: false,
    restarts: 1,
    backoffMs: 0,
  };
  const events = (r: ReturnType<typeof step>, ev: string) =>
    r.effects.flatMap((e) => (e.type === 'append-event' && e.ev === ev ? [e.fields] : []));

  it('restores a snapshot once, into an empty engine only', () => {
    const snapshot = { ...emptySnapshot() };
    const event = { type: 'snapshot-restored' as const, snapshot, wallMs: 0 };
    expect(() => step(withWs(), event, 0)).toThrow(
      'onSnapshotRestored: restore happens once, into an empty engine',
    );
    expect(events(step(started(), event, 0), 'restore')).toEqual([
      { workspaces: 0, saved_pipelines: 0, live_pipelines: 0, commands: 0 },
    ]);
  });

  it('relaunches a live pipeline with one id per node, once', () => {
    const relaunch = { type: 'pipeline-relaunch' as const, pipeline: live, nodeIds: ['N1'] };
    expect(() => step(withWs(), relaunch, 0)).toThrow('relaunch: one id per node');
    const once = step(withWs(), { ...relaunch, nodeIds: ['N1', 'N2'] }, 0);
    expect(once.state.pipelines.get('P1')?.restarts).toBe(1);
    expect(events(once, 'restore-skip')).toEqual([]);
    const twice = step(once.state, { ...relaunch, nodeIds: ['N3', 'N4'] }, 0);
    expect(events(twice, 'restore-skip')).toEqual([
      { pipeline: 'P1', label: 'p', reason: 'duplicate id' },
    ]);
    const orphan = step(started(), { ...relaunch, nodeIds: ['N1', 'N2'] }, 0);
    expect(events(orphan, 'restore-skip')).toEqual([
      { pipeline: 'P1', label: 'p', reason: 'no workspace' },
    ]);
    expect(orphan.state.pipelines.size).toBe(0);
  });
});

describe('what the file leaves out, and when it is written', () => {
  const ids = (store: FakeStore, list: string) =>
    written(store)[list].map((x: { id: string }) => x.id);

  it('keeps a service in backoff, leaves out a one-shot still waiting for its dependency', () => {
    const { f, sup } = setup();
    ok(sup.createWorkspace(wsSpec()));
    const web = ok(sup.runCommand('w', cmdSpec({ label: 'web', restart: 'always' })));
    f.kernel.exit(web.pid as number, 1);
    expect(ok(sup.getCommand('w', 'web')).state).toBe('backoff');
    const dbSpec = cmdSpec({ label: 'db', restart: 'always', ready: 'notify' });
    const db = ok(sup.runCommand('w', dbSpec));
    const job = ok(sup.runCommand('w', cmdSpec({ label: 'job', dependsOn: ['db'] })));
    expect(ok(sup.getCommand('w', 'job')).state).toBe('waiting');
    ok(sup.createWorkspace(wsSpec({ label: 'other' }))); // writes the state as it is
    expect(ids(f.store, 'commands')).toEqual([web.id, db.id]);
    expect(job.id).not.toBe(db.id);
  });

  it('leaves out a workspace that is stopping, and a pipeline that is not supervised', () => {
    const { f, sup } = setup();
    ok(sup.createWorkspace(wsSpec()));
    const other = ok(sup.createWorkspace(wsSpec({ label: 'other' })));
    const stubborn = ok(sup.runCommand('w', cmdSpec({ label: 'x' }))).pid as number;
    f.kernel.ignoreTerm.add(stubborn);
    const once = { ...pipeSpec().restart, restartOnFailure: false };
    ok(
      sup.runPipeline(pipeSpec({ workspace: 'other', restart: once }), { tap: false, source: 's' }),
    );
    void sup.stopWorkspace('w', 5_000);
    expect(ok(sup.getWorkspace('w')).state).toBe('stopping');
    ok(sup.createWorkspace(wsSpec({ label: 'third' })));
    expect(ids(f.store, 'workspaces')).toEqual([other.id, expect.any(String)]);
    expect(written(f.store).livePipelines).toEqual([]);
  });

  it('attaches each workspace its own samples only', () => {
    const first = setup();
    ok(first.sup.createWorkspace(wsSpec({ label: 'a' })));
    ok(first.sup.createWorkspace(wsSpec({ label: 'b' })));
    first.sup.flush();
    edit(first.f.store, (raw) => {
      const b = raw.workspaces[1]?.id ?? '';
      const samples = [{ wallMs: 1, rssBytes: 777, cpuUs: 0, cpuPermille: 0 }];
      raw.stats = [{ workspaceId: b, samples }];
    });
    const { sup } = setup(first.f.store);
    expect(ok(sup.stats('a')).history).toEqual([]);
    expect(ok(sup.stats('b')).history.map((s) => s.rssBytes)).toEqual([777]);
  });

  it('writes nothing at start when the snapshot restores whole', () => {
    const first = setup();
    ok(first.sup.createWorkspace(wsSpec()));
    const writes = first.f.store.writes;
    setup(first.f.store);
    expect(first.f.store.writes).toBe(writes);
  });

  it('writes a deferred change again after a failed write', () => {
    const { f, sup } = setup();
    ok(sup.createWorkspace(wsSpec()));
    ok(sup.runCommand('w', cmdSpec()));
    f.kernel.stats = { alive: 1, rssBytes: 4096, cpuUs: 10 };
    f.store.failWrites = true;
    f.clock.advance(1200);
    expect(f.store.text).not.toMatch(/"rssBytes": ?4096/);
    f.store.failWrites = false;
    f.clock.advance(1200);
    expect(f.store.text).toMatch(/"rssBytes": ?4096/);
  });

  it('a flush cancels the deferred write it does at once', () => {
    const { f, sup } = setup();
    ok(sup.createWorkspace(wsSpec()));
    ok(sup.runCommand('w', cmdSpec()));
    f.kernel.stats = { alive: 1, rssBytes: 4096, cpuUs: 10 };
    f.clock.advance(1000);
    const pending = f.clock.pending();
    sup.flush();
    expect(f.clock.pending()).toBe(pending - 1);
  });

  it('counts restored lost commands toward the bound of dead records', () => {
    const options = { sampleEveryMs: 1000, saveDelayMs: 200, deadCommandsMax: 2, cores: 1 };
    let state = step(initialState(options), { type: 'daemon-started', caps: caps(false) }, 0).state;
    state = step(state, { type: 'workspace-create', id: 'WS', spec: wsSpec(), wallMs: 0 }, 0).state;
    const lost = (n: number) => ({
      id: `C${n}`,
      workspaceId: n === 9 ? 'GONE' : 'WS',
      spec: cmdSpec({ label: `job${n}` }),
      restarts: 0,
      backoffMs: 0,
    });
    const commands = [1, 2, 3, 4, 9].map(lost);
    const r = step(state, { type: 'commands-restored', commands }, 0);
    expect([...r.state.commands.keys()]).toEqual(['C3', 'C4']);
  });
});

describe('a failed snapshot write', () => {
  it('marks the state dirty and arms the deferred save again', () => {
    const options = { sampleEveryMs: 1000, saveDelayMs: 200, deadCommandsMax: 8, cores: 1 };
    const state = step(initialState(options), { type: 'daemon-started', caps: caps(false) }, 0);
    expect(state.state.dirty).toBe(false);
    const r = step(state.state, { type: 'snapshot-write-failed', message: 'disk full' }, 50);
    expect(r.state.dirty).toBe(true);
    expect(r.state.timers.get('save')).toBe(250);
  });
});
