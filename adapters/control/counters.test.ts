import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Supervisor } from '../../core/engine/api.js';
import { createRestartCounters } from './counters.js';

/** Just what the counters read: commands of one workspace and pipelines, with restarts. */
function stub(state: { cmds: Record<string, number>; pipes: Record<string, number> }) {
  const listeners = new Set<() => void>();
  const sup = {
    listWorkspaces: () => [{ id: 'W' }],
    listCommands: () => ({
      ok: true,
      value: Object.entries(state.cmds).map(([id, restarts]) => ({ id, restarts })),
    }),
    listPipelines: () => Object.entries(state.pipes).map(([id, restarts]) => ({ id, restarts })),
    onEvent: (l: () => void) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
  } as unknown as Supervisor;
  const emit = () => {
    for (const l of listeners) l();
  };
  return { sup, emit };
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'shipote-counters-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('restart counters', () => {
  it('keep the restarts of commands that went away, across a daemon restart', () => {
    const path = join(dir, 'counters.json');
    const state = { cmds: { A: 2, B: 1 } as Record<string, number>, pipes: { P: 3 } };
    const first = stub(state);
    const c1 = createRestartCounters(first.sup, path);
    expect(c1.totals()).toEqual({ command: 3, pipeline: 3 });
    state.cmds = { B: 2 }; // A's workspace stopped; B restarted once more
    first.emit();
    expect(c1.totals()).toEqual({ command: 4, pipeline: 3 });
    c1.close();
    // A new daemon: B is gone, the pipeline was relaunched with its restarts restored.
    const after = { cmds: {} as Record<string, number>, pipes: { P: 3 } };
    const c2 = createRestartCounters(stub(after).sup, path);
    expect(c2.totals()).toEqual({ command: 4, pipeline: 3 });
    c2.close();
  });
});
