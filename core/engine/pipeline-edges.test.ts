/**
 * Pipeline transitions step by step, with their effects: the group request, lifecycle
 * events, resource retries, stops (no grace, nothing alive, a second stop, during an
 * operator restart), refusals, the bound on finished pipelines and flow verdicts.
 */

import { pipeSpec, wsSpec } from '../../testing/fakes.js';
import { Stepper } from '../../testing/stepper.js';
import type { PipelineSpec } from '../manifest/types.js';
import type { PortError } from '../ports.js';
import type { Effect, EngineEvent } from './model.js';
import { pipelineState } from './pipeline.js';
import { step } from './step.js';

const WS = 'WS1';
const RUN = { source: '', vars: {}, tap: false, restarts: 0, backoffMs: 0 };

class Engine extends Stepper {
  private nextPid = 100;
  constructor() {
    super({ deadCommandsMax: 2 });
    this.run({ type: 'workspace-create', id: WS, spec: wsSpec(), wallMs: 0 });
  }
  refused(event: EngineEvent) {
    return this.step(event).error;
  }
  /** Pipeline `id` run (not yet spawned): the effects of the run. */
  start(id: string, over: Partial<PipelineSpec> = {}, tap = false): Effect[] {
    const spec = pipeSpec(over);
    const nodeIds = spec.nodes.map((_, i) => `${id}-N${i}`);
    return this.run({ type: 'pipeline-run', id, nodeIds, spec, run: { ...RUN, tap } });
  }
  /** The group of `id` spawned: its pids. */
  spawned(id: string): number[] {
    const n = this.state.pipelines.get(id)?.nodes.length ?? 0;
    const pids = Array.from({ length: n }, () => this.nextPid++);
    this.run({ type: 'group-spawned', pipelineId: id, pids, taps: [] });
    return pids;
  }
  exit(pid: number, code: number | null, signal: string | null = null): Effect[] {
    return this.run({ type: 'process-exited', pid, code, signal });
  }
  phase(id: string) {
    return this.state.pipelines.get(id)?.phase;
  }
}

const events = (effects: Effect[], ev: string) =>
  effects.flatMap((e) => (e.type === 'append-event' && e.ev === ev ? [e.fields] : []));
const signals = (effects: Effect[]) =>
  effects.flatMap((e) => (e.type === 'signal' ? [[e.pid, e.signal]] : []));
const settles = (effects: Effect[]) => effects.filter((e) => e.type === 'settle');
const supervised = { restart: { ...pipeSpec().restart, restartOnFailure: true } };

describe('the group request', () => {
  it('asks for taps on every edge only when tapped, with the discern settings', () => {
    const e = new Engine();
    const plain = e.start('P');
    const req = plain.find((x) => x.type === 'spawn-group');
    if (req?.type !== 'spawn-group') throw new Error('a spawn-group effect');
    expect(req.req.taps).toEqual([]);
    expect(req.req.edges).toEqual([{ from: 0, fromOutput: 'stdout', to: 1 }]);
    expect(req.req.nodes[0]).toMatchObject({ exec: '/bin/echo', cwd: '', notify: false });
    const { discern } = pipeSpec();
    const tapped = e.start('Q', {}, true).find((x) => x.type === 'spawn-group');
    if (tapped?.type !== 'spawn-group') throw new Error('a spawn-group effect');
    expect(tapped.req.taps).toEqual([
      {
        edgeIndex: 0,
        sampleBytes: discern.sampleBytes,
        replayChunks: discern.replayChunks,
        replayBytes: discern.replayBytes,
      },
    ]);
    expect(tapped.req.maxBytesPerSec).toBe(discern.maxBytesPerSec);
  });
});

describe('pipeline lifecycle events', () => {
  it('writes the run, each node exit, the relaunch and the end', () => {
    const e = new Engine();
    const run = e.start('P', { ...supervised, crashLoop: { deathsMax: 1, windowMs: 60_000 } });
    expect(events(run, 'pipeline-run')).toEqual([
      { pipeline: 'P', label: 'p', ws: WS, nodes: 2, supervised: true },
    ]);
    const [a, b] = e.spawned('P') as [number, number];
    expect(events(e.exit(a, 0), 'exit')).toEqual([
      { ws: WS, pipeline: 'P', node: 'producer', pid: a, code: 0 },
    ]);
    const death = e.exit(b, 3);
    expect(events(death, 'pipeline-restart')).toEqual([
      { pipeline: 'P', label: 'p', ws: WS, backoff_ms: 200, restarts: 1 },
    ]);
    expect(e.phase('P')).toEqual({ kind: 'backoff', atMs: 200, delayMs: 200 });
    e.nowMs = 200;
    e.run({ type: 'timer-fired', key: 'pipeline-restart:P' });
    const [c, d] = e.spawned('P') as [number, number];
    e.exit(c, 1);
    const loop = e.exit(d, 1);
    expect(events(loop, 'crash-loop')).toEqual([
      { pipeline: 'P', label: 'p', ws: WS, deaths: 2, restarts: 1 },
    ]);
    expect(events(loop, 'pipeline-end')).toEqual([
      { pipeline: 'P', label: 'p', state: 'crash-loop' },
    ]);
  });

  it('ends a pipeline whose nodes all exit 0 as done, one that failed unsupervised too', () => {
    const e = new Engine();
    e.start('P');
    for (const pid of e.spawned('P')) e.exit(pid, 0);
    expect(e.phase('P')).toEqual({ kind: 'done', reason: 'exit-0' });
    e.start('Q');
    const [a, b] = e.spawned('Q') as [number, number];
    e.exit(a, 2);
    expect(events(e.exit(b, 0), 'pipeline-end')).toEqual([
      { pipeline: 'Q', label: 'p', state: 'done' },
    ]);
    expect(e.phase('Q')).toEqual({ kind: 'done', reason: 'unsupervised' });
  });

  it('keeps at most deadCommandsMax finished pipelines, releasing the oldest', () => {
    const e = new Engine();
    const released: string[] = [];
    for (const id of ['P1', 'P2', 'P3']) {
      e.start(id);
      for (const pid of e.spawned(id)) {
        for (const x of e.exit(pid, 0)) if (x.type === 'release') released.push(x.key);
      }
    }
    expect([...e.state.pipelines.keys()]).toEqual(['P2', 'P3']);
    expect(released).toEqual(['P1']);
  });
});

describe('pipeline spawn failures', () => {
  const failure = (reason: PortError['reason']): PortError => ({
    _tag: 'PortError',
    port: 'Kernel',
    method: 'spawnGroup',
    reason,
    message: 'fork: EMFILE',
  });

  it("withdraws a first spawn that failed, saving only a supervised pipeline's", () => {
    const e = new Engine();
    for (const [id, over] of [
      ['P', {}],
      ['S', supervised],
    ] as const) {
      e.start(id, over);
      const effects = e.run({
        type: 'group-spawn-failed',
        pipelineId: id,
        error: failure('NotFound'),
      });
      expect(e.state.pipelines.has(id)).toBe(false);
      expect(effects).toContainEqual({ type: 'release', key: id });
      const save = effects.some((x) => x.type === 'arm-timer' && x.key === 'save');
      expect(save).toBe(id === 'S');
    }
  });

  it('retries a relaunch that found the daemon out of resources after at least 1 s', () => {
    const e = new Engine();
    e.start('P', supervised);
    for (const pid of e.spawned('P')) e.exit(pid, 1);
    e.nowMs = 200;
    e.run({ type: 'timer-fired', key: 'pipeline-restart:P' });
    const effects = e.run({
      type: 'group-spawn-failed',
      pipelineId: 'P',
      error: failure('LimitExceeded'),
    });
    expect(events(effects, 'spawn-deferred')).toEqual([
      { pipeline: 'P', label: 'p', reason: 'LimitExceeded', backoff_ms: 1000 },
    ]);
    expect(events(effects, 'spawn-failed')).toEqual([
      { pipeline: 'P', label: 'p', reason: 'LimitExceeded', message: 'fork: EMFILE' },
    ]);
    expect(e.phase('P')).toEqual({ kind: 'backoff', atMs: 1200, delayMs: 1000 });
    expect(e.state.timers.get('pipeline-restart:P')).toBe(1200);
  });

  it('counts any other failed relaunch as a death', () => {
    const e = new Engine();
    e.start('P', supervised);
    for (const pid of e.spawned('P')) e.exit(pid, 1);
    e.nowMs = 200;
    e.run({ type: 'timer-fired', key: 'pipeline-restart:P' });
    e.run({ type: 'group-spawn-failed', pipelineId: 'P', error: failure('NotFound') });
    expect(e.phase('P')).toEqual({ kind: 'backoff', atMs: 600, delayMs: 400 });
  });
});

describe('pipeline stops', () => {
  it('kills at once with no grace, and finishes when the nodes are reaped', () => {
    const e = new Engine();
    e.start('P');
    const pids = e.spawned('P');
    const stop = e.run({ type: 'pipeline-stop', id: 'P', graceMs: 0 });
    expect(signals(stop)).toEqual(pids.map((pid) => [pid, 'SIGKILL']));
    expect(e.state.timers.has('pipeline-stop-grace:P')).toBe(false);
    e.exit(pids[0] as number, null, 'SIGKILL');
    const last = e.exit(pids[1] as number, null, 'SIGKILL');
    expect(settles(last)).toEqual([{ type: 'settle', kind: 'pipeline', id: 'P', reaped: 2 }]);
    expect(events(last, 'pipeline-stopped')).toEqual([{ pipeline: 'P', label: 'p', reaped: 2 }]);
    expect(e.phase('P')).toEqual({ kind: 'done', reason: 'stopped' });
  });

  it('TERMs, then brings the KILL forward on a second stop with a shorter grace', () => {
    const e = new Engine();
    e.start('P');
    const pids = e.spawned('P');
    const stop = e.run({ type: 'pipeline-stop', id: 'P', graceMs: 1000 });
    expect(signals(stop)).toEqual(pids.map((pid) => [pid, 'SIGTERM']));
    expect(events(stop, 'pipeline-stop')).toEqual([{ pipeline: 'P', label: 'p', grace_ms: 1000 }]);
    expect(e.state.timers.get('pipeline-stop-grace:P')).toBe(1000);
    e.run({ type: 'pipeline-stop', id: 'P', graceMs: 5000 });
    expect(e.state.timers.get('pipeline-stop-grace:P')).toBe(1000);
    e.nowMs = 100;
    e.run({ type: 'pipeline-stop', id: 'P', graceMs: 300 });
    expect(e.state.timers.get('pipeline-stop-grace:P')).toBe(400);
    e.nowMs = 400;
    const kill = e.run({ type: 'timer-fired', key: 'pipeline-stop-grace:P' });
    expect(signals(kill)).toEqual(pids.map((pid) => [pid, 'SIGKILL']));
  });

  it('stops a pipeline in backoff at once, cancelling its relaunch and writing it through', () => {
    const e = new Engine();
    e.start('P', supervised);
    for (const pid of e.spawned('P')) e.exit(pid, 1);
    const stop = e.run({ type: 'pipeline-stop', id: 'P', graceMs: 1000 });
    expect(stop).toContainEqual({ type: 'cancel-timer', key: 'pipeline-restart:P' });
    expect(stop).toContainEqual({ type: 'write-snapshot', sync: true });
    expect(settles(stop)).toEqual([{ type: 'settle', kind: 'pipeline', id: 'P', reaped: 0 }]);
    expect(e.phase('P')).toEqual({ kind: 'done', reason: 'stopped' });
  });

  it('ends an operator restart stopped midway as stopped, answering the restart', () => {
    const e = new Engine();
    e.start('P', supervised);
    const pids = e.spawned('P');
    const restart = e.run({ type: 'pipeline-restart', id: 'P' });
    expect(events(restart, 'pipeline-restart')).toEqual([
      { pipeline: 'P', label: 'p', ws: WS, operator: true },
    ]);
    expect(e.state.timers.get('pipeline-stop-grace:P')).toBe(1000);
    const stop = e.run({ type: 'pipeline-stop', id: 'P', graceMs: 100 });
    expect(stop).toContainEqual({ type: 'write-snapshot', sync: true });
    expect(settles(stop)).toEqual([
      { type: 'settle', kind: 'pipeline-restart', id: 'P', reaped: 0 },
    ]);
    expect(e.state.timers.get('pipeline-stop-grace:P')).toBe(100);
    for (const pid of pids) e.exit(pid, null, 'SIGTERM');
    expect(e.phase('P')).toEqual({ kind: 'done', reason: 'stopped' });
  });

  it('relaunches afresh after an operator restart, with a fresh tally', () => {
    const e = new Engine();
    e.start('P', supervised);
    for (const pid of e.spawned('P')) e.exit(pid, 1);
    e.nowMs = 200;
    e.run({ type: 'timer-fired', key: 'pipeline-restart:P' });
    const pids = e.spawned('P');
    e.run({ type: 'pipeline-restart', id: 'P' });
    e.exit(pids[0] as number, null, 'SIGTERM');
    const last = e.exit(pids[1] as number, null, 'SIGTERM');
    expect(last.some((x) => x.type === 'spawn-group')).toBe(true);
    expect(settles(last)).toEqual([
      { type: 'settle', kind: 'pipeline-restart', id: 'P', reaped: 0 },
    ]);
    const p = e.state.pipelines.get('P');
    expect(p).toMatchObject({ restarts: 2, tally: { backoffMs: 200 }, deathsMs: [] });
  });

  it('refuses what names no pipeline, a bad grace, and a restart in a stopping workspace', () => {
    const e = new Engine();
    expect(e.refused({ type: 'pipeline-stop', id: 'X', graceMs: 0 })).toEqual({
      code: 'not_found',
      message: 'no pipeline "X"',
    });
    expect(e.refused({ type: 'pipeline-restart', id: 'X' })).toEqual({
      code: 'not_found',
      message: 'no pipeline "X"',
    });
    e.start('P');
    e.spawned('P');
    expect(e.refused({ type: 'pipeline-stop', id: 'P', graceMs: -1 })).toMatchObject({
      code: 'invalid',
      field: 'grace',
    });
    e.run({ type: 'workspace-stop', ref: WS, graceMs: 1000, reason: 'operator' });
    expect(e.refused({ type: 'pipeline-restart', id: 'P' })).toEqual({
      code: 'conflict',
      message: 'pipeline "p": its workspace is stopping',
    });
  });
});

describe('flow verdicts', () => {
  const verdict = (ty: string) => ({ ty, mime: `x/${ty}`, confPermille: 900 });

  it('keeps one verdict per edge, the latest, and ignores an edge the spec lacks', () => {
    const e = new Engine();
    const three = pipeSpec().nodes;
    const nodes = [...three, { ...three[1], label: 'tail' }] as PipelineSpec['nodes'];
    const edges: PipelineSpec['edges'] = [
      { from: 0, fromOutput: 'stdout', to: 1, toInput: 'stdin' },
      { from: 1, fromOutput: 'stdout', to: 2, toInput: 'stdin' },
    ];
    e.start('P', { nodes, edges });
    e.spawned('P');
    const sniff = (edgeIndex: number, ty: string) =>
      e.run({ type: 'edge-sniffed', key: 'P', edgeIndex, verdict: verdict(ty) });
    sniff(1, 'json');
    sniff(0, 'text');
    const again = sniff(1, 'csv');
    expect(events(again, 'flow-verdict')).toEqual([
      { pipeline: 'P', edge: 1, ty: 'csv', mime: 'x/csv', conf_permille: 900 },
    ]);
    expect(events(again, 'shipote.flow.p.consumer.stdout.csv')).toHaveLength(1);
    expect(sniff(7, 'json')).toEqual([]);
    expect(e.state.pipelines.get('P')?.verdicts).toEqual([
      { edgeIndex: 0, ...verdict('text') },
      { edgeIndex: 1, ...verdict('csv') },
    ]);
  });

  it('writes the producer event only when the spec asks for it', () => {
    const e = new Engine();
    const spec = pipeSpec();
    e.start('P', { discern: { ...spec.discern, enrichProducer: false } });
    e.spawned('P');
    const effects = e.run({
      type: 'edge-sniffed',
      key: 'P',
      edgeIndex: 0,
      verdict: verdict('json'),
    });
    expect(effects.map((x) => (x.type === 'append-event' ? x.ev : x.type))).toEqual([
      'flow-verdict',
    ]);
  });
});

describe('pipeline run', () => {
  it('refuses a pipeline for an unknown or stopping workspace', () => {
    const e = new Engine();
    const spec = pipeSpec({ workspace: 'nope' });
    const nodeIds = ['N0', 'N1'];
    expect(e.refused({ type: 'pipeline-run', id: 'P', nodeIds, spec, run: RUN })).toEqual({
      code: 'not_found',
      field: 'workspace',
      message: 'no workspace "nope"',
    });
    e.start('Q');
    e.spawned('Q');
    e.run({ type: 'workspace-stop', ref: WS, graceMs: 1000, reason: 'operator' });
    const late = { type: 'pipeline-run', id: 'P', nodeIds, spec: pipeSpec(), run: RUN } as const;
    expect(e.refused(late)).toEqual({ code: 'conflict', message: 'workspace "w" is stopping' });
  });

  it('writes a supervised pipeline through, not an unsupervised one', () => {
    const e = new Engine();
    expect(e.start('P').some((x) => x.type === 'write-snapshot')).toBe(false);
    expect(e.start('S', supervised)).toContainEqual({ type: 'write-snapshot', sync: true });
  });

  it('starts from the tally it is given back (a relaunch), else a fresh one', () => {
    const e = new Engine();
    const spec = pipeSpec(supervised);
    const run = { ...RUN, restarts: 3, backoffMs: 1600 };
    e.run({ type: 'pipeline-run', id: 'P', nodeIds: ['A', 'B'], spec, run });
    expect(e.state.pipelines.get('P')).toMatchObject({
      restarts: 3,
      tally: { restarts: 3, backoffMs: 1600 },
      deathsMs: [],
      verdicts: [],
      nodes: [
        { label: 'producer', commandId: 'A', pid: null, alive: false, exit: null },
        { label: 'consumer', commandId: 'B', pid: null, alive: false, exit: null },
      ],
    });
    const fresh = { ...RUN, restarts: 2, backoffMs: 0 };
    e.run({ type: 'pipeline-run', id: 'Q', nodeIds: ['C', 'D'], spec, run: fresh });
    expect(e.state.pipelines.get('Q')?.tally).toEqual({ restarts: 2, backoffMs: 200 });
  });

  it('gives a node its log limits, its own over the pipeline’s', () => {
    const e = new Engine();
    const [a, b] = pipeSpec().nodes;
    const nodes = [{ ...a, logs: { maxBytes: 10, keep: 1 } }, b] as PipelineSpec['nodes'];
    const effects = e.start('P', { nodes, logs: { maxBytes: 99, keep: 3 } });
    const req = effects.find((x) => x.type === 'spawn-group');
    if (req?.type !== 'spawn-group') throw new Error('a spawn-group effect');
    expect(req.req.nodes.map((n) => n.logs)).toEqual([
      { maxBytes: 10, keep: 1 },
      { maxBytes: 99, keep: 3 },
    ]);
    const plain = e.start('Q').find((x) => x.type === 'spawn-group');
    if (plain?.type !== 'spawn-group') throw new Error('a spawn-group effect');
    expect(plain.req.nodes[0]).not.toHaveProperty('logs');
  });

  it('shows each phase as its state', () => {
    const stop = { graceMs: 0, reaped: 0, killed: false };
    expect(pipelineState({ kind: 'spawning', origin: 'later' })).toBe('running');
    expect(pipelineState({ kind: 'stopping', stop, after: 'done' })).toBe('running');
    expect(pipelineState({ kind: 'backoff', atMs: 0, delayMs: 0 })).toBe('backoff');
    expect(pipelineState({ kind: 'crash-loop' })).toBe('crash-loop');
    expect(pipelineState({ kind: 'done', reason: 'stopped' })).toBe('stopped');
    expect(pipelineState({ kind: 'done', reason: 'gave-up' })).toBe('gave-up');
    expect(pipelineState({ kind: 'done', reason: 'exit-0' })).toBe('done');
    expect(pipelineState({ kind: 'done', reason: 'unsupervised' })).toBe('done');
  });

  it('throws naming the pipeline when an event reaches it in a state that cannot take it', () => {
    const e = new Engine();
    e.start('P');
    e.spawned('P');
    expect(() => e.spawned('P')).toThrow('pipeline "p"');
  });

  it('kills once: a grace timer after the KILL changes nothing', () => {
    const e = new Engine();
    e.start('P');
    const pids = e.spawned('P');
    e.run({ type: 'pipeline-stop', id: 'P', graceMs: 0 });
    const key = 'pipeline-stop-grace:P';
    const s = { ...e.state, timers: new Map([...e.state.timers, [key, 5]]) };
    const r = step(s, { type: 'timer-fired', key }, 5);
    expect(signals(r.effects)).toEqual([]);
    expect(pids).toHaveLength(2);
  });
});

describe('pipelines in a workspace stop, and restarts of dead ones', () => {
  it('ends a pipeline in backoff, and one restarting ends with its workspace', () => {
    const e = new Engine();
    e.start('B', supervised);
    for (const pid of e.spawned('B')) e.exit(pid, 1);
    e.start('R', supervised);
    const pids = e.spawned('R');
    e.run({ type: 'pipeline-restart', id: 'R' });
    const stop = e.run({ type: 'workspace-stop', ref: WS, graceMs: 1000, reason: 'operator' });
    expect(stop).toContainEqual({ type: 'cancel-timer', key: 'pipeline-restart:B' });
    expect(e.phase('B')).toEqual({ kind: 'done', reason: 'stopped' });
    expect(e.phase('R')).toMatchObject({ kind: 'stopping', after: 'done' });
    for (const pid of pids) e.exit(pid, null, 'SIGTERM');
    expect(e.state.workspaces.has(WS)).toBe(false);
  });

  it('restarts a pipeline in backoff at once, cancelling the relaunch timer', () => {
    const e = new Engine();
    e.start('P', supervised);
    for (const pid of e.spawned('P')) e.exit(pid, 1);
    const restart = e.run({ type: 'pipeline-restart', id: 'P' });
    expect(events(restart, 'pipeline-restart')).toEqual([
      { pipeline: 'P', label: 'p', ws: WS, operator: true },
    ]);
    expect(restart).toContainEqual({ type: 'cancel-timer', key: 'pipeline-restart:P' });
    expect(restart).toContainEqual({ type: 'release', key: 'P' });
    expect(restart.some((x) => x.type === 'spawn-group')).toBe(true);
    expect(e.state.pipelines.get('P')?.restarts).toBe(1);
  });

  it("marks the state dirty at a supervised pipeline's end only", () => {
    const e = new Engine();
    e.start('P');
    for (const pid of e.spawned('P')) e.exit(pid, 0);
    expect(e.state.dirty).toBe(false);
    e.start('S', { ...supervised, crashLoop: { deathsMax: 0, windowMs: 1000 } });
    const [a, b] = e.spawned('S') as [number, number];
    e.exit(a, 0);
    e.exit(b, 0);
    expect(e.phase('S')).toEqual({ kind: 'done', reason: 'exit-0' });
    expect(e.state.dirty).toBe(true);
  });
});
