import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Supervisor } from '../../core/engine/api.js';
import { commandSpec, pipelinePolicies, workspaceSpec } from '../../core/manifest/defaults.js';
import type { PipelineSpec } from '../../core/manifest/types.js';
import type { LifecycleEvent } from '../../core/ports.js';
import { simEngine } from '../../testing/engine.js';
import { createRestartCounters } from './counters.js';

/** Just what the counters read: commands of one workspace and pipelines, with restarts. */
function stub(state: { cmds: Record<string, number>; pipes: Record<string, number> }) {
  const listeners = new Set<(event: LifecycleEvent) => void>();
  const sup = {
    listWorkspaces: () => [{ id: 'W' }],
    listCommands: () => ({
      ok: true,
      value: Object.entries(state.cmds).map(([id, restarts]) => ({ id, restarts })),
    }),
    listPipelines: () => Object.entries(state.pipes).map(([id, restarts]) => ({ id, restarts })),
    onEvent: (l: (event: LifecycleEvent) => void) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
  } as unknown as Supervisor;
  // An event that names no command or pipeline: the counters look at all of them.
  const emit = () => {
    for (const l of listeners) l({ wallMs: 0, ev: 'workspace-stop', fields: { ws: 'W' } });
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

  it('count the restarts of many services from the events alone, removed ones too', async () => {
    const engine = simEngine();
    const stopPump = engine.pump();
    const counters = createRestartCounters(engine.sup, join(dir, 'counters.json'));
    engine.sup.createWorkspace(workspaceSpec({ label: 'w' }));
    // Thirty services that exit after 1-3 virtual seconds and are started again at once.
    const ids: string[] = [];
    for (let i = 0; i < 30; i += 1) {
      const spec = commandSpec({ exec: '/bin/sleep', argv: [String(1 + (i % 3))] });
      const run = engine.sup.runCommand('w', {
        ...spec,
        label: `s${i}`,
        restart: 'always',
        restartOnFailure: true,
        backoffMs: 1,
        backoffMsMax: 1,
        crashLoopMax: 0,
      });
      if (!run.ok) throw new Error(run.error.message);
      ids.push(run.value.id);
    }
    const policies = pipelinePolicies();
    const failing: PipelineSpec = {
      label: 'p',
      workspace: 'w',
      discern: policies.discern,
      nodes: [{ label: 'n', payload: { exec: '/bin/false', argv: [], envp: [] } }],
      edges: [],
      restart: { ...policies.restart, restartOnFailure: true, backoffMsInitial: 500 },
      crashLoop: { deathsMax: 0, windowMs: 1000 },
    };
    const pipeline = engine.sup.runPipeline(failing, { tap: false });
    if (!pipeline.ok) throw new Error(pipeline.error.message);
    for (let t = 0; t < 20; t += 1) engine.advance(500);
    const listed = engine.sup.listCommands('w');
    if (!listed.ok) throw new Error(listed.error.message);
    const restarts = listed.value.reduce((sum, c) => sum + c.restarts, 0);
    // 10 virtual seconds: at least three restarts each (more for the one-second sleeps).
    expect(restarts).toBeGreaterThanOrEqual(30 * 3);
    const pipeRestarts = engine.sup.listPipelines()[0]?.restarts ?? 0;
    expect(pipeRestarts).toBeGreaterThan(0);
    // Removed one by one: each removal names its command, so no walk of all commands sees
    // them again; what they counted must already be held.
    for (const id of ids) {
      const removed = await engine.sup.removeCommand('w', id, 0);
      expect(removed).toEqual({ ok: true, value: true });
    }
    expect(engine.sup.listCommands('w')).toEqual({ ok: true, value: [] });
    expect(counters.totals()).toEqual({ command: restarts, pipeline: pipeRestarts });
    counters.close();
    stopPump();
  });
});
