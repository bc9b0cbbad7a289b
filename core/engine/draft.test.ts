/**
 * A step's working copy (draft.ts): copy on first write, timers, save scheduling, the
 * result of a refused step, and the lookups by id or label. Hand-made states hold only the
 * fields these read.
 */

import { defaultPolicy } from '../policy/index.js';
import {
  commandOf,
  Draft,
  pipelineOf,
  resolveCommand,
  resolvePipeline,
  resolveWorkspace,
  workspaceOf,
} from './draft.js';
import type { CommandRec, EngineState, PipelineRec, WorkspaceRec } from './model.js';
import { initialState } from './step.js';
import { encodeTimer } from './timers.js';

const SAVE_DELAY_MS = 200;

function base(): EngineState {
  return initialState({
    sampleEveryMs: 1000,
    saveDelayMs: SAVE_DELAY_MS,
    deadCommandsMax: 10,
    cores: 2,
  });
}

const cmd = (id: string, wsId: string, label: string) =>
  ({ id, wsId, label }) as unknown as CommandRec;
const ws = (id: string, label: string, commandIds: string[] = []) =>
  ({ id, spec: { label }, commandIds }) as unknown as WorkspaceRec;
const pipe = (id: string, label: string, finishedSeq = 0) =>
  ({ id, label, finishedSeq }) as unknown as PipelineRec;

describe('the working copy', () => {
  it('copies a table on its first write and leaves the step’s base untouched', () => {
    const start = base();
    const d = new Draft(start, 0, defaultPolicy);
    d.put('commands', cmd('c1', 'w', 'a'));
    d.put('commands', cmd('c2', 'w', 'b'));
    d.setPid(7, { kind: 'command', id: 'c1' });
    d.delete('commands', 'c1');
    expect([...d.state.commands.keys()]).toEqual(['c2']);
    expect(d.state.pids.get(7)).toEqual({ kind: 'command', id: 'c1' });
    expect(start.commands.size).toBe(0);
    expect(start.pids.size).toBe(0);
    d.deletePid(7);
    expect(d.state.pids.size).toBe(0);
  });

  it('arms and cancels timers, recording each as an effect', () => {
    const d = new Draft(base(), 100, defaultPolicy);
    d.cancelTimer({ kind: 'save' });
    expect(d.effects).toEqual([]);
    d.armTimer({ kind: 'save' }, 300);
    expect(d.timerAt({ kind: 'save' })).toBe(300);
    const key = encodeTimer({ kind: 'save' });
    d.cancelTimer({ kind: 'save' });
    expect(d.effects).toEqual([
      { type: 'arm-timer', key, atMs: 300 },
      { type: 'cancel-timer', key },
    ]);
    expect(d.timerAt({ kind: 'save' })).toBeUndefined();
    expect(() => d.armTimer({ kind: 'save' }, 1.5)).toThrow(
      `armTimer ${key}: atMs must be an integer`,
    );
  });

  it('a fired timer is no longer armed; an unknown one was never armed', () => {
    const d = new Draft(base(), 0, defaultPolicy);
    d.armTimer({ kind: 'save' }, 10);
    const key = encodeTimer({ kind: 'save' });
    expect(d.timerFired('nope')).toBe(false);
    expect(d.timerFired(key)).toBe(true);
    expect(d.timerFired(key)).toBe(false);
  });

  it('a write-through clears dirty and asks for a synchronous snapshot write', () => {
    const d = new Draft({ ...base(), dirty: true }, 0, defaultPolicy);
    d.writeThrough();
    expect(d.state.dirty).toBe(false);
    expect(d.effects).toEqual([{ type: 'write-snapshot', sync: true }]);
  });

  it('marks dirty and saves after the delay, or sooner when a save is already due', () => {
    const d = new Draft(base(), 1_000, defaultPolicy);
    d.markDirty();
    expect(d.state.dirty).toBe(true);
    expect(d.timerAt({ kind: 'save' })).toBe(1_000 + SAVE_DELAY_MS);
    d.markDirty(5_000); // later than the armed save: that one stays
    expect(d.timerAt({ kind: 'save' })).toBe(1_000 + SAVE_DELAY_MS);
    d.markDirty(50); // sooner: pulled in
    expect(d.timerAt({ kind: 'save' })).toBe(1_050);
    const arms = d.effects.filter((e) => e.type === 'arm-timer');
    expect(arms.map((e) => (e.type === 'arm-timer' ? e.atMs : 0))).toEqual([1_200, 1_050]);
  });

  it('a refused step keeps the base state and drops its effects', () => {
    const start = base();
    const d = new Draft(start, 0, defaultPolicy);
    d.put('commands', cmd('c1', 'w', 'a'));
    d.refuse({ code: 'conflict', message: 'no' });
    expect(d.result(start)).toEqual({
      state: start,
      effects: [],
      error: { code: 'conflict', message: 'no' },
    });
    const fine = new Draft(start, 0, defaultPolicy);
    fine.markDirty();
    expect(fine.result(start).state.dirty).toBe(true);
    expect(fine.result(start).error).toBeNull();
  });
});

describe('lookups', () => {
  const state = (): EngineState => {
    const s = base();
    return {
      ...s,
      workspaces: new Map([
        ['W1', ws('W1', 'one', ['C1', 'gone', 'C2'])],
        ['W2', ws('W2', 'W1', ['C3'])],
      ]),
      commands: new Map([
        ['C1', cmd('C1', 'W1', 'web')],
        ['C2', cmd('C2', 'W1', 'db')],
        ['C3', cmd('C3', 'W2', 'web')],
      ]),
      pipelines: new Map([
        ['P1', pipe('P1', 'etl', 3)],
        ['P2', pipe('P2', 'etl', 0)],
        ['P3', pipe('P3', 'old', 1)],
        ['P4', pipe('P4', 'old', 2)],
        ['P5', pipe('P5', 'twin', 0)],
        ['P6', pipe('P6', 'twin', 0)],
      ]),
    };
  };

  it('finds a workspace by id first, then by label', () => {
    const s = state();
    expect(resolveWorkspace(s, 'W1')?.id).toBe('W1'); // W2's label is "W1": the id wins
    expect(resolveWorkspace(s, 'one')?.id).toBe('W1');
    expect(resolveWorkspace(s, 'nope')).toBeNull();
  });

  it('finds a command of the workspace by id or label, never another workspace’s', () => {
    const s = state();
    const w1 = s.workspaces.get('W1') as WorkspaceRec;
    expect(resolveCommand(s, w1, 'C2')?.id).toBe('C2');
    expect(resolveCommand(s, w1, 'db')?.id).toBe('C2');
    expect(resolveCommand(s, w1, 'web')?.id).toBe('C1');
    expect(resolveCommand(s, w1, 'C3')).toBeNull(); // W2's command, by id
    expect(resolveCommand(s, w1, 'nope')).toBeNull();
  });

  it('finds a pipeline by id or label; a shared label names the live one, else wants an id', () => {
    const s = state();
    expect(resolvePipeline(s, 'P1')).toMatchObject({ ok: true, value: { id: 'P1' } });
    expect(resolvePipeline(s, 'etl')).toMatchObject({ ok: true, value: { id: 'P2' } });
    expect(resolvePipeline(s, 'old')).toEqual({
      ok: false,
      error: { code: 'conflict', message: 'pipeline label "old" is ambiguous: P3, P4; use an id' },
    });
    expect(resolvePipeline(s, 'twin')).toMatchObject({ ok: false, error: { code: 'conflict' } });
    expect(resolvePipeline(s, 'nope')).toEqual({
      ok: false,
      error: { code: 'not_found', message: 'no pipeline "nope"' },
    });
  });

  it('a record the engine needs must exist: the error names it', () => {
    const s = state();
    expect(workspaceOf(s, 'W2').id).toBe('W2');
    expect(commandOf(s, 'C3').id).toBe('C3');
    expect(pipelineOf(s, 'P5').id).toBe('P5');
    expect(() => workspaceOf(s, 'X')).toThrow('engine: workspace X must exist');
    expect(() => commandOf(s, 'X')).toThrow('engine: command X must exist');
    expect(() => pipelineOf(s, 'X')).toThrow('engine: pipeline X must exist');
  });
});
