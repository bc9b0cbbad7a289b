/**
 * The liveness queries (live.ts) over small hand-made states: only the fields they read
 * are filled in. A property holds `hasLivePid` to `livePids` on random states.
 */

import fc from 'fast-check';
import {
  anythingAlive,
  commandsOf,
  hasLivePid,
  isLiveIntent,
  livePids,
  pipelinePids,
  pipelinesOf,
} from './live.js';
import type { CommandPhase, EngineState, NodeRec, PipelinePhase, PipelineRec } from './model.js';

type Cmd = { id: string; phase: CommandPhase };
type Pipe = { id: string; wsId: string; nodes: NodeRec[] };

function state(
  workspaces: Record<string, string[]>,
  commands: Cmd[],
  pipelines: Pipe[],
  pids: number[] = [],
): EngineState {
  const ws = Object.entries(workspaces).map(
    ([id, commandIds]) => [id, { id, commandIds }] as const,
  );
  return {
    workspaces: new Map(ws),
    commands: new Map(commands.map((c) => [c.id, c])),
    pipelines: new Map(pipelines.map((p) => [p.id, p])),
    pids: new Map(pids.map((pid) => [pid, { kind: 'command', id: 'c' }])),
  } as unknown as EngineState;
}

const node = (pid: number | null, alive: boolean): NodeRec => ({
  label: `n${pid}`,
  commandId: '',
  pid,
  alive,
  exit: null,
});

const running = (pid: number): CommandPhase => ({ kind: 'running', pid });

describe('who is alive where', () => {
  const s = state(
    { A: ['a1', 'a2', 'gone', 'a3', 'a4'], B: ['b1'] },
    [
      { id: 'a1', phase: running(11) },
      { id: 'a2', phase: { kind: 'backoff', atMs: 5, delayMs: 5 } },
      { id: 'a3', phase: { kind: 'stopping', pid: 13, after: 'done' } },
      { id: 'a4', phase: { kind: 'starting', pid: 14 } },
      { id: 'b1', phase: running(21) },
    ],
    [
      { id: 'pa', wsId: 'A', nodes: [node(31, true), node(32, false), node(null, true)] },
      { id: 'pb', wsId: 'B', nodes: [node(41, true)] },
    ],
  );

  it('lists a workspace’s own commands in order, skipping ids no longer in the table', () => {
    expect(commandsOf(s, 'A').map((c) => c.id)).toEqual(['a1', 'a2', 'a3', 'a4']);
    expect(commandsOf(s, 'B').map((c) => c.id)).toEqual(['b1']);
    expect(commandsOf(s, 'nope')).toEqual([]);
  });

  it('lists a workspace’s own pipelines', () => {
    expect(pipelinesOf(s, 'A').map((p) => p.id)).toEqual(['pa']);
    expect(pipelinesOf(s, 'nope')).toEqual([]);
  });

  it('counts a node alive only while it runs with a pid', () => {
    expect(pipelinePids(s.pipelines.get('pa') as PipelineRec)).toEqual([31]);
  });

  it('lists the live pids of commands and pipeline nodes of the workspace only', () => {
    expect(livePids(s, 'A')).toEqual([11, 13, 14, 31]);
    expect(livePids(s, 'B')).toEqual([21, 41]);
    expect(livePids(s, 'nope')).toEqual([]);
    expect(hasLivePid(s, 'A')).toBe(true);
    expect(hasLivePid(s, 'nope')).toBe(false);
  });

  it('sees a pipeline’s live node even when its workspace record is gone', () => {
    const orphan = state({}, [], [{ id: 'p', wsId: 'X', nodes: [node(7, true)] }]);
    expect(livePids(orphan, 'X')).toEqual([7]);
    expect(hasLivePid(orphan, 'X')).toBe(true);
  });

  it('tells whether any process at all is alive from the pid table', () => {
    expect(anythingAlive(state({}, [], [], []))).toBe(false);
    expect(anythingAlive(state({}, [], [], [5]))).toBe(true);
  });

  it('hasLivePid agrees with livePids on any state', () => {
    const phase = fc.oneof(
      fc.constant<CommandPhase>({ kind: 'waiting' }),
      fc.integer({ min: 1, max: 99 }).map(running),
      fc.integer({ min: 1, max: 99 }).map((pid): CommandPhase => ({ kind: 'starting', pid })),
      fc.constant<CommandPhase>({ kind: 'crash-loop' }),
    );
    const nodeArb = fc
      .tuple(fc.option(fc.integer({ min: 1, max: 99 }), { nil: null }), fc.boolean())
      .map(([pid, alive]) => node(pid, alive));
    const arb = fc.record({
      cmds: fc.array(fc.tuple(fc.constantFrom('A', 'B'), phase), { maxLength: 4 }),
      pipes: fc.array(
        fc.tuple(fc.constantFrom('A', 'B', 'C'), fc.array(nodeArb, { maxLength: 3 })),
        {
          maxLength: 3,
        },
      ),
    });
    fc.assert(
      fc.property(arb, ({ cmds, pipes }) => {
        const byWs: Record<string, string[]> = { A: [], B: [] };
        const commands = cmds.map(([ws, p], i) => {
          byWs[ws]?.push(`c${i}`);
          return { id: `c${i}`, phase: p };
        });
        const pipelines = pipes.map(([wsId, nodes], i) => ({ id: `p${i}`, wsId, nodes }));
        const st = state(byWs, commands, pipelines);
        for (const ws of ['A', 'B', 'C']) {
          expect(hasLivePid(st, ws)).toBe(livePids(st, ws).length > 0);
        }
      }),
    );
  });
});

describe('pipelines that are part of the declared intent', () => {
  const stop = { deadlineMs: 0 } as unknown as Extract<PipelinePhase, { kind: 'stopping' }>['stop'];
  const cases: [PipelinePhase, boolean][] = [
    [{ kind: 'spawning', origin: 'later' }, true],
    [{ kind: 'running' }, true],
    [{ kind: 'stopping', stop, after: 'respawn' }, true],
    [{ kind: 'stopping', stop, after: 'done' }, false],
    [{ kind: 'backoff', atMs: 1, delayMs: 1 }, true],
    [{ kind: 'crash-loop' }, false],
    [{ kind: 'done', reason: 'exit-0' }, false],
  ];
  it.each(cases)('supervised, %j → %s', (phase, live) => {
    const p = { phase, spec: { restart: { restartOnFailure: true } } } as unknown as PipelineRec;
    expect(isLiveIntent(p)).toBe(live);
  });
  it.each(cases)('unsupervised, %j → never', (phase) => {
    const p = { phase, spec: { restart: { restartOnFailure: false } } } as unknown as PipelineRec;
    expect(isLiveIntent(p)).toBe(false);
  });
});
