/**
 * The start-up report (restoreFromStore): each outcome with its counts and message, the
 * events it logs, and a store that cannot move a bad file aside (nothing is overwritten).
 */

import {
  cmdSpec,
  FakeStore,
  fakes,
  ok,
  pipeSpec,
  portError,
  setup,
  wsSpec,
} from '../../testing/fakes.js';
import type { PortResult, StoreRead } from '../ports.js';
import { createSupervisor } from './supervisor.js';

/** A store whose read fails, or whose set-aside fails, as a disk can. */
class FlakyStore extends FakeStore {
  readError: string | null = null;
  asideError: string | null = null;
  reasons: string[] = [];
  override read(): StoreRead {
    if (this.readError !== null) {
      return { kind: 'error', error: portError('Store', 'read', this.readError) };
    }
    return super.read();
  }
  override setAside(reason = ''): PortResult<{ path: string }> {
    this.reasons.push(reason);
    if (this.asideError !== null) {
      return { ok: false, error: portError('Store', 'setAside', this.asideError) };
    }
    return super.setAside();
  }
}

function start(store: FlakyStore) {
  const f = fakes(store);
  const sup = createSupervisor(f.ports, { sampleEveryMs: 1000, saveDelayMs: 200 });
  return { f, sup, report: sup.start() };
}

const NONE = { fromVersion: null, workspaces: 0, savedPipelines: 0, relaunchedPipelines: 0 };

const NATIVE = 'payload.Native = { exec = "/bin/true", argv = [], envp = [] }';

/** A store holding two workspaces, a saved and a live pipeline, a service and a one-shot. */
function populated(): FlakyStore {
  const store = new FlakyStore();
  const { sup } = setup(store);
  ok(sup.createWorkspace(wsSpec()));
  ok(sup.createWorkspace(wsSpec({ label: 'other' })));
  const source = ['label = "x"', 'workspace = "w"', '[[nodes]]', 'label = "a"', NATIVE].join('\n');
  ok(sup.savePipeline('saved', source));
  const restart = { ...pipeSpec().restart, restartOnFailure: true };
  ok(sup.runPipeline(pipeSpec({ restart }), { tap: false, source: 'src' }));
  ok(sup.runCommand('w', cmdSpec({ label: 'web', restart: 'always' })));
  ok(sup.runCommand('w', cmdSpec({ label: 'job' })));
  ok(sup.runCommand('other', cmdSpec({ label: 'job2' })));
  sup.flush();
  return store;
}

describe('the start-up report', () => {
  it('says fresh when there is no snapshot', () => {
    const { report, f } = start(new FlakyStore());
    expect(report).toEqual({ outcome: 'fresh', ...NONE, message: 'no snapshot: fresh start' });
    expect(f.eventLog.named('snapshot-set-aside')).toEqual([]);
  });

  it('counts what it restored, relaunched and lost, and the version it read', () => {
    const { report, sup } = start(populated());
    expect(report).toEqual({
      outcome: 'restored',
      fromVersion: 5,
      workspaces: 2,
      savedPipelines: 1,
      relaunchedPipelines: 1,
      message:
        'restored 2 workspaces, 1 saved pipelines, relaunched 1 pipelines and 1 services, ' +
        '2 commands lost (snapshot v5)',
    });
    const states = ok(sup.listCommands('w')).map((c) => [c.label, c.state]);
    expect(states).toEqual([
      ['web', 'running'],
      ['job', 'lost'],
    ]);
  });

  it('counts a live pipeline it could not relaunch as not relaunched', () => {
    const store = populated();
    const raw = JSON.parse(store.text ?? '');
    // Its workspace is gone from the file: the pipeline is skipped with an event.
    raw.livePipelines[0].spec.workspace = 'nowhere';
    store.text = JSON.stringify(raw);
    const { report, f } = start(store);
    expect(report.relaunchedPipelines).toBe(0);
    expect(report.message).toContain('relaunched 0 pipelines');
    expect(f.eventLog.named('restore-skip')[0]?.fields).toMatchObject({ reason: 'no workspace' });
  });

  it('names the bad entries and where the file went when some entries are skipped', () => {
    const store = populated();
    const raw = JSON.parse(store.text ?? '');
    raw.savedPipelines[0].source = 7;
    store.text = JSON.stringify(raw);
    const { report, f } = start(store);
    expect(report).toMatchObject({
      outcome: 'restored',
      savedPipelines: 0,
      skipped: [{ path: 'savedPipelines[0]' }],
      skippedAsidePath: '/state/state.json.aside-1',
    });
    expect(report.message).toMatch(
      /\(snapshot v5\); 1 invalid entries set aside in \/state\/state\.json\.aside-1$/,
    );
    expect(store.reasons).toEqual(['partial: 1 invalid entries']);
    expect(f.eventLog.named('snapshot-entries-skipped')).toHaveLength(1);
  });

  it('writes the valid part back after setting a partly bad file aside', () => {
    const store = new FlakyStore();
    const first = setup(store).sup;
    ok(first.createWorkspace(wsSpec()));
    const source = ['label = "x"', 'workspace = "w"', '[[nodes]]', 'label = "a"', NATIVE];
    ok(first.savePipeline('good', source.join('\n')));
    ok(first.savePipeline('bad', source.join('\n')));
    const raw = JSON.parse(store.text ?? '');
    for (const p of raw.savedPipelines) if (p.name === 'bad') p.source = 7;
    store.text = JSON.stringify(raw);
    const writes = store.writes;
    start(store);
    // Moved aside (the text is gone), then the valid part written back at once.
    expect(store.writes).toBe(writes + 1);
    const back = JSON.parse(store.text ?? '{}');
    expect(back.savedPipelines.map((p: { name: string }) => p.name)).toEqual(['good']);
    expect(back.workspaces).toHaveLength(1);
  });

  it.each([
    ['unreadable', (s: FlakyStore) => (s.readError = 'EIO'), 'unreadable: EIO'],
    ['corrupt', (s: FlakyStore) => (s.text = '{not json'), 'corrupt: snapshot is not valid JSON'],
    ['newer', (s: FlakyStore) => (s.text = '{"version": 99}'), 'newer: snapshot version 99'],
  ])('sets %s files aside and says where they went', (_what, spoil, why) => {
    const store = populated();
    spoil(store);
    const { report, f, sup } = start(store);
    expect(report).toMatchObject({ outcome: 'set-aside', ...NONE });
    expect(report.message).toMatch(/^snapshot set aside \(/);
    expect(report.message).toContain(why);
    expect(report.message).toMatch(/\); moved to \/state\/state\.json\.aside-1; starting empty$/);
    expect(store.reasons).toHaveLength(1);
    expect(store.reasons[0]).toContain(why);
    const logged = f.eventLog.named('snapshot-set-aside');
    expect(logged.map((e) => e.fields)).toEqual([
      { reason: store.reasons[0], path: '/state/state.json.aside-1' },
    ]);
    expect(sup.listWorkspaces()).toEqual([]);
  });

  it('refuses to overwrite a bad file it could not move aside', () => {
    const store = populated();
    store.text = '{not json';
    store.asideError = 'EROFS';
    const { report, f, sup } = start(store);
    expect(report).toMatchObject({ outcome: 'set-aside', ...NONE });
    expect(report.message).toMatch(
      /^corrupt: .*; snapshot could not be set aside \(.*EROFS\); refusing to overwrite it$/,
    );
    const logged = f.eventLog.named('snapshot-set-aside')[0]?.fields;
    expect(logged).toMatchObject({ failed: true, message: expect.stringContaining('EROFS') });
    expect(logged?.reason).toMatch(/^corrupt: /);
    // The store is blocked: a change that must be written through is refused, the file kept.
    const r = sup.createWorkspace(wsSpec());
    expect(r.ok ? null : r.error.code).toBe('unavailable');
    expect(store.text).toBe('{not json');
  });

  it('restores nothing from a partly bad file it could not move aside', () => {
    const store = populated();
    const raw = JSON.parse(store.text ?? '');
    raw.savedPipelines[0].source = 7;
    store.text = JSON.stringify(raw);
    store.asideError = 'EROFS';
    const { report, f, sup } = start(store);
    expect(report).toMatchObject({ outcome: 'set-aside', ...NONE });
    expect(report.message).toMatch(/^partial, and .*EROFS; snapshot could not be set aside/);
    expect(f.eventLog.named('snapshot-entries-skipped')[0]?.fields).toEqual({
      count: 1,
      first: 'savedPipelines[0]',
    });
    expect(sup.listWorkspaces()).toEqual([]);
    expect(store.text).toBe(JSON.stringify(raw));
  });
});
