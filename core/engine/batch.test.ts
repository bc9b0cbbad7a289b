/**
 * `commands-run` (an apply's dependency level): all admitted or none, one durable write
 * before any spawn, a failed write aborts the whole level, a spawn failure is per slot.
 */

import { cmdSpec, ok, setup, wsSpec } from '../../testing/fakes.js';
import type { CommandSpec } from '../manifest/types.js';
import { decodeSnapshot } from '../snapshot/index.js';
import type { ApiResult, CommandView, Supervisor } from './api.js';

/** The batch method, which the real engine has (optional in the API for other engines). */
function runAll(sup: Supervisor, specs: CommandSpec[]): ApiResult<ApiResult<CommandView>[]> {
  if (!sup.runCommands) throw new Error('the engine has runCommands');
  return sup.runCommands('w', specs);
}

const services = (n: number, extra = {}) =>
  Array.from({ length: n }, (_, i) => cmdSpec({ label: `s${i}`, restart: 'always', ...extra }));

describe('commands-run: a batch of services under one write-through', () => {
  it('admits every service with one snapshot write, written before the first spawn', () => {
    const { f, sup } = setup();
    ok(sup.createWorkspace(wsSpec()));
    const writesBefore = f.store.writes;
    let spawnsAtWrite = -1;
    const write = f.store.write.bind(f.store);
    f.store.write = (text) => {
      spawnsAtWrite = f.kernel.spawns.length;
      return write(text);
    };
    const views = ok(runAll(sup, services(50)));
    expect(views.map((v) => (v.ok ? v.value.state : v.error.code))).toEqual(
      Array(50).fill('running'),
    );
    expect(f.store.writes - writesBefore).toBe(1);
    expect(spawnsAtWrite).toBe(0);
    const snap = decodeSnapshot(f.store.text ?? '');
    expect(snap.ok && snap.snapshot.commands.map((c) => c.spec.label)).toEqual(
      services(50).map((s) => s.label),
    );
    expect(f.kernel.spawns).toHaveLength(50);
  });

  it('refuses the whole batch when one is refused, naming it; nothing runs or is written', () => {
    const { f, sup } = setup();
    ok(sup.createWorkspace(wsSpec()));
    ok(sup.runCommand('w', cmdSpec({ label: 's3', restart: 'always' })));
    const writesBefore = f.store.writes;
    const spawnsBefore = f.kernel.spawns.length;
    const r = runAll(sup, services(5));
    expect(r.ok).toBe(false);
    expect(r.ok === false && r.error).toMatchObject({ code: 'conflict', field: 'label' });
    expect(r.ok === false && r.error.message).toMatch(/^command "s3": .*already exists/);
    expect(f.store.writes).toBe(writesBefore);
    expect(f.kernel.spawns.length).toBe(spawnsBefore);
    expect(ok(sup.listCommands('w')).map((c) => c.label)).toEqual(['s3']);
  });

  it('refuses two services of the batch with the same label', () => {
    const { sup } = setup();
    ok(sup.createWorkspace(wsSpec()));
    const r = runAll(sup, [...services(2), cmdSpec({ label: 's1' })]);
    expect(r.ok === false && r.error.message).toMatch(/command "s1"/);
    expect(ok(sup.listCommands('w'))).toEqual([]);
  });

  it('a failed write aborts the whole batch: nothing spawned, nothing listed', () => {
    const { f, sup } = setup();
    ok(sup.createWorkspace(wsSpec()));
    f.store.failWrites = true;
    const r = runAll(sup, services(10));
    expect(r.ok === false && r.error).toMatchObject({ code: 'unavailable' });
    expect(r.ok === false && r.error.message).toMatch(/snapshot write failed/);
    expect(f.kernel.spawns).toHaveLength(0);
    expect(ok(sup.listCommands('w'))).toEqual([]);
  });

  it('a spawn failure is reported in its slot; the others of the batch run', () => {
    const { sup } = setup();
    ok(sup.createWorkspace(wsSpec()));
    const specs = [...services(2), cmdSpec({ label: 'bad', exec: '/nope' }), ...services(1, {})];
    specs[3] = cmdSpec({ label: 's9', restart: 'always' });
    const views = ok(runAll(sup, specs));
    expect(views.map((v) => (v.ok ? v.value.label : v.error.code))).toEqual([
      's0',
      's1',
      'spawn_failed',
      's9',
    ]);
    expect(ok(sup.listCommands('w')).map((c) => c.label)).toEqual(['s0', 's1', 's9']);
  });

  it('a service whose dependency is in an earlier batch waits for it to be running', () => {
    const { f, sup } = setup();
    ok(sup.createWorkspace(wsSpec()));
    ok(runAll(sup, [cmdSpec({ label: 'db', restart: 'always', ready: 'notify' })]));
    const web = cmdSpec({ label: 'web', restart: 'always', dependsOn: ['db'] });
    const [view] = ok(runAll(sup, [web]));
    expect(view?.ok && view.value.state).toBe('waiting');
    expect(f.kernel.spawns.map((s) => s.req.exec)).toHaveLength(1);
  });
});
