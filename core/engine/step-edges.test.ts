/**
 * Edges of `step` the mutation run found open: events for what no longer exists are
 * ignored (not thrown on), the pipeline's stop-grace timer reaches the pipeline, and the
 * invariant check after every step throws on a pid table that disagrees with the records.
 */

import { caps, cmdSpec, ok, pipeSpec, setup, wsSpec } from '../../testing/fakes.js';
import type { EngineEvent, EngineState, PidOwner } from './model.js';
import { initialState, step } from './step.js';
import { encodeTimer, type TimerKey } from './timers.js';

const options = { sampleEveryMs: 1000, saveDelayMs: 200, deadCommandsMax: 4, cores: 2 };
const WS = 'WS1';
const RUN = { source: '', vars: {}, tap: false, restarts: 0, backoffMs: 200 };
const STALE: EngineEvent = { type: 'timer-fired', key: 'restart:gone' };

function apply(state: EngineState, ...events: EngineEvent[]): EngineState {
  let s = state;
  for (const e of events) {
    const r = step(s, e, 0);
    expect(r.error).toBeNull();
    s = r.state;
  }
  return s;
}

/** A workspace with command C1 running as pid 100 and pipeline P1's nodes as 200 and 201. */
function world(): EngineState {
  const s0 = step(initialState(options), { type: 'daemon-started', caps: caps(false) }, 0).state;
  return apply(
    s0,
    { type: 'workspace-create', id: WS, spec: wsSpec(), wallMs: 0 },
    { type: 'command-run', ref: WS, id: 'C1', spec: cmdSpec() },
    { type: 'spawned', cmdId: 'C1', pid: 100, wallMs: 0 },
    { type: 'pipeline-run', id: 'P1', nodeIds: ['N0', 'N1'], spec: pipeSpec(), run: RUN },
    { type: 'group-spawned', pipelineId: 'P1', pids: [200, 201], taps: [] },
  );
}

describe('step: events for what is gone', () => {
  it('refuses a time that is not an integer', () => {
    expect(() => step(world(), STALE, 1.5)).toThrow('step: nowMs must be an integer, got 1.5');
  });

  it.each<[string, EngineEvent]>([
    ['a notify from a pid nobody owns', { type: 'notify', pid: 999, message: 'READY=1' }],
    ['a notify from a pipeline node', { type: 'notify', pid: 200, message: 'READY=1' }],
    [
      'a sniffed edge of a pipeline that is gone',
      {
        type: 'edge-sniffed',
        key: 'gone',
        edgeIndex: 0,
        verdict: { ty: 'json', mime: 'x', confPermille: 1 },
      },
    ],
    ['a reaped process of a workspace that is gone', { type: 'workspace-reaped', wsId: 'gone' }],
  ])('ignores %s', (_title, event) => {
    const s = world();
    const r = step(s, event, 5);
    expect(r.error).toBeNull();
    expect(r.effects).toEqual([]);
    expect(r.state.commands).toBe(s.commands);
    expect(r.state.pipelines).toBe(s.pipelines);
  });

  it.each<[string, TimerKey]>([
    ['command', { kind: 'restart', id: 'gone' }],
    ['pipeline', { kind: 'pipeline-stop-grace', id: 'gone' }],
    ['workspace', { kind: 'ttl', id: 'gone' }],
  ])('drops an armed timer of a %s that is gone, deciding nothing', (_what, timer) => {
    const key = encodeTimer(timer);
    const s = { ...world(), timers: new Map([[key, 5]]) };
    const r = step(s, { type: 'timer-fired', key }, 5);
    expect(r.effects).toEqual([]);
    expect(r.state.timers.has(key)).toBe(false);
  });
});

describe("step: a pipeline's stop grace", () => {
  it('kills the nodes that outlive the grace of a pipeline stop', async () => {
    const { f, sup } = setup();
    ok(sup.createWorkspace(wsSpec()));
    const p = ok(sup.runPipeline(pipeSpec(), { tap: false }));
    const pids = f.kernel.pidsOf(p.id);
    for (const pid of pids) f.kernel.ignoreTerm.add(pid);
    const stopped = sup.stopPipeline(p.id, 300);
    expect(f.kernel.pidsOf(p.id)).toEqual(pids);
    f.clock.advance(299);
    expect(f.kernel.signals.filter((s) => s.signal === 'SIGKILL')).toEqual([]);
    f.clock.advance(1);
    const killed = f.kernel.signals.filter((s) => s.signal === 'SIGKILL').map((s) => s.pid);
    expect(killed.sort()).toEqual([...pids].sort());
    expect(await stopped).toEqual({ ok: true, value: { reaped: 2 } });
  });
});

describe('step: the invariant check after every step', () => {
  const withPid = (s: EngineState, pid: number, owner: PidOwner): EngineState => ({
    ...s,
    pids: new Map([...s.pids, [pid, owner]]),
  });

  it('accepts the pids of starting, running and stopping commands and of live nodes', () => {
    const s = world();
    expect(() => step(s, STALE, 5)).not.toThrow();
    const c1 = s.commands.get('C1');
    if (!c1) throw new Error('C1 must exist');
    for (const kind of ['starting', 'stopping'] as const) {
      const phase =
        kind === 'stopping' ? { kind, pid: 100, after: 'done' as const } : { kind, pid: 100 };
      const commands = new Map([...s.commands, ['C1', { ...c1, phase }]]);
      expect(() => step({ ...s, commands } as EngineState, STALE, 5)).not.toThrow();
    }
  });

  it.each<[string, (s: EngineState) => EngineState, string]>([
    [
      'a pid of a command that does not exist',
      (s) => withPid(s, 7, { kind: 'command', id: 'ghost' }),
      'invariant: pid 7 owner ghost disagrees',
    ],
    [
      'a second pid of a running command',
      (s) => withPid(s, 7, { kind: 'command', id: 'C1' }),
      'invariant: pid 7 owner C1 disagrees',
    ],
    [
      'a pid of a command that is not alive',
      (s) => {
        const c1 = s.commands.get('C1');
        if (!c1) throw new Error('C1 must exist');
        const commands = new Map([
          ...s.commands,
          ['C1', { ...c1, phase: { kind: 'done', reason: 'exit-0' } }],
        ]);
        return { ...s, commands } as EngineState;
      },
      'invariant: pid 100 owner C1 disagrees',
    ],
    [
      'a pid of a pipeline that does not exist',
      (s) => withPid(s, 7, { kind: 'node', id: 'ghost', index: 0 }),
      'invariant: node pid 7 disagrees',
    ],
    [
      'a pid of a node that has another',
      (s) => withPid(s, 7, { kind: 'node', id: 'P1', index: 1 }),
      'invariant: node pid 7 disagrees',
    ],
    [
      'a pid of a node that is dead',
      (s) => {
        const p1 = s.pipelines.get('P1');
        if (!p1) throw new Error('P1 must exist');
        const nodes = p1.nodes.map((n, i) => (i === 0 ? { ...n, alive: false } : n));
        return { ...s, pipelines: new Map([...s.pipelines, ['P1', { ...p1, nodes }]]) };
      },
      'invariant: node pid 200 disagrees',
    ],
  ])('throws on %s', (_title, corrupt, message) => {
    expect(() => step(corrupt(world()), STALE, 5)).toThrow(message);
  });
});
