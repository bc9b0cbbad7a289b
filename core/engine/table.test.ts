/**
 * One test per cell of each state × event table: the cell's kind (ignore, refuse, bug or
 * a handler) and, for handlers, the state the record is in afterwards. The expectations
 * below are written out by hand, independent of the tables they check.
 */

import { caps, cmdSpec, pipeSpec, wsSpec } from '../../testing/fakes.js';
import { defaultPolicy } from '../policy/index.js';
import { type CommandInput, deliverCommand } from './command.js';
import { Draft } from './draft.js';
import type {
  CommandPhase,
  CommandRec,
  EngineState,
  PipelinePhase,
  PipelineRec,
  WorkspacePhase,
} from './model.js';
import { deliverPipeline, newPipeline, type PipelineInput } from './pipeline.js';
import { COMMAND_TABLE, initialState, PIPELINE_TABLE, step, WORKSPACE_TABLE } from './step.js';
import { encodeTimer } from './timers.js';
import { deliverWorkspace, type WorkspaceInput } from './workspace.js';

const WS = 'WS1';
const CMD = 'CMD1';
const PIPE = 'PIPE1';
const NOW_MS = 1000;
const portError = {
  _tag: 'PortError' as const,
  port: 'Kernel' as const,
  method: 'spawn',
  reason: 'Busy' as const,
  message: 'fork: EAGAIN',
};

function base(): EngineState {
  const options = { sampleEveryMs: 1000, saveDelayMs: 200, deadCommandsMax: 8, cores: 1 };
  let state = step(initialState(options), { type: 'daemon-started', caps: caps(false) }, 0).state;
  state = step(state, { type: 'workspace-create', id: WS, spec: wsSpec(), wallMs: 0 }, 0).state;
  return state;
}

/** Expected: the kind of the record's state after the cell, or the cell's own kind. */
type Outcome = string;

function run(state: EngineState, deliver: (d: Draft) => void): Outcome | Draft {
  const d = new Draft(state, NOW_MS, defaultPolicy);
  try {
    deliver(d);
  } catch (error) {
    if (error instanceof Error && /cannot happen/.test(error.message)) return 'bug';
    throw error;
  }
  if (d.error) return 'refuse';
  if (d.state === state || (d.effects.length === 0 && d.raised.length === 0 && same(d, state))) {
    return 'ignore';
  }
  return d;
}

const same = (d: Draft, state: EngineState) =>
  d.state.commands === state.commands &&
  d.state.pipelines === state.pipelines &&
  d.state.workspaces === state.workspaces;

// ── commands ───────────────────────────────────────────────────────────────────────

const COMMAND_PHASES: Record<CommandPhase['kind'], CommandPhase> = {
  spawning: { kind: 'spawning' },
  starting: { kind: 'starting', pid: 100 },
  running: { kind: 'running', pid: 100 },
  stopping: { kind: 'stopping', pid: 100, after: 'respawn' },
  backoff: { kind: 'backoff', atMs: 1200, delayMs: 200 },
  'crash-loop': { kind: 'crash-loop' },
  done: { kind: 'done', reason: 'exit-0' },
};

const COMMAND_INPUTS: Record<CommandInput['type'], CommandInput> = {
  spawned: { type: 'spawned', pid: 200, wallMs: 5 },
  'spawn-failed': { type: 'spawn-failed', error: portError },
  exited: { type: 'exited', code: 1, signal: null },
  notify: { type: 'notify', message: 'READY=1' },
  'restart-timer': { type: 'restart-timer' },
  'watchdog-timer': { type: 'watchdog-timer' },
  'kill-timer': { type: 'kill-timer' },
  'operator-restart': { type: 'operator-restart' },
  quiesce: { type: 'quiesce' },
};

/** A supervised command that has run once, in each state, then each event. */
const COMMAND_EXPECTED: Record<CommandPhase['kind'], Record<CommandInput['type'], Outcome>> = {
  spawning: {
    spawned: 'running',
    'spawn-failed': 'backoff',
    exited: 'bug',
    notify: 'bug',
    'restart-timer': 'bug',
    'watchdog-timer': 'bug',
    'kill-timer': 'bug',
    'operator-restart': 'bug',
    quiesce: 'bug',
  },
  starting: {
    spawned: 'bug',
    'spawn-failed': 'bug',
    exited: 'backoff',
    notify: 'running',
    'restart-timer': 'ignore',
    'watchdog-timer': 'starting',
    'kill-timer': 'ignore',
    'operator-restart': 'stopping',
    quiesce: 'stopping',
  },
  running: {
    spawned: 'bug',
    'spawn-failed': 'bug',
    exited: 'backoff',
    notify: 'ignore',
    'restart-timer': 'ignore',
    'watchdog-timer': 'running',
    'kill-timer': 'ignore',
    'operator-restart': 'stopping',
    quiesce: 'stopping',
  },
  stopping: {
    spawned: 'bug',
    'spawn-failed': 'bug',
    exited: 'spawning',
    notify: 'ignore',
    'restart-timer': 'ignore',
    'watchdog-timer': 'ignore',
    'kill-timer': 'stopping',
    'operator-restart': 'stopping',
    quiesce: 'stopping',
  },
  backoff: {
    spawned: 'bug',
    'spawn-failed': 'bug',
    exited: 'bug',
    notify: 'bug',
    'restart-timer': 'spawning',
    'watchdog-timer': 'ignore',
    'kill-timer': 'ignore',
    'operator-restart': 'spawning',
    quiesce: 'done',
  },
  'crash-loop': {
    spawned: 'bug',
    'spawn-failed': 'bug',
    exited: 'bug',
    notify: 'bug',
    'restart-timer': 'ignore',
    'watchdog-timer': 'ignore',
    'kill-timer': 'ignore',
    'operator-restart': 'spawning',
    quiesce: 'ignore',
  },
  done: {
    spawned: 'bug',
    'spawn-failed': 'bug',
    exited: 'bug',
    notify: 'bug',
    'restart-timer': 'ignore',
    'watchdog-timer': 'ignore',
    'kill-timer': 'ignore',
    'operator-restart': 'spawning',
    quiesce: 'ignore',
  },
};

function withCommand(phase: CommandPhase): EngineState {
  const state = base();
  const cmd: CommandRec = {
    id: CMD,
    label: 'c',
    wsId: WS,
    spec: cmdSpec({ label: 'c', restartOnFailure: true, watchdogMs: 500 }),
    phase,
    exit: null,
    restarts: 1,
    tally: { restarts: 1, backoffMs: 400 },
    deathsMs: [],
    startedAtMs: 900,
    startedAtWallMs: 0,
    lastStartMs: 900,
    spawns: 1,
  };
  const ws = state.workspaces.get(WS);
  if (!ws) throw new Error('fixture: no workspace');
  const pids = new Map(state.pids);
  if ('pid' in phase) pids.set(phase.pid, { kind: 'command', id: CMD });
  return {
    ...state,
    pids,
    commands: new Map([[CMD, cmd]]),
    workspaces: new Map([[WS, { ...ws, commandIds: [CMD] }]]),
  };
}

const commandCells = Object.entries(COMMAND_EXPECTED).flatMap(([state, row]) =>
  Object.entries(row).map(([event, outcome]) => [state, event, outcome] as const),
);

describe('the command table', () => {
  it('has exactly the cells this test expects', () => {
    for (const [state, row] of Object.entries(COMMAND_TABLE)) {
      expect(Object.keys(row).sort()).toEqual(Object.keys(COMMAND_INPUTS).sort());
      expect(Object.keys(COMMAND_EXPECTED)).toContain(state);
    }
    expect(commandCells).toHaveLength(7 * 9);
  });

  it.each(commandCells)('%s × %s → %s', (state, event, outcome) => {
    const kind = state as CommandPhase['kind'];
    const input = COMMAND_INPUTS[event as CommandInput['type']];
    const before = withCommand(COMMAND_PHASES[kind]);
    const result = run(before, (d) => deliverCommand(d, CMD, input));
    if (typeof result === 'string') {
      expect(result).toBe(outcome);
      return;
    }
    expect(result.state.commands.get(CMD)?.phase.kind).toBe(outcome);
  });
});

// ── pipelines ──────────────────────────────────────────────────────────────────────

const STOP = { graceMs: 100, reaped: 0, killed: false };

const PIPELINE_PHASES: Record<PipelinePhase['kind'], PipelinePhase> = {
  spawning: { kind: 'spawning', origin: 'later' },
  running: { kind: 'running' },
  stopping: { kind: 'stopping', stop: STOP },
  backoff: { kind: 'backoff', atMs: 1200, delayMs: 200 },
  'crash-loop': { kind: 'crash-loop' },
  done: { kind: 'done', reason: 'exit-0' },
};

const PIPELINE_INPUTS: Record<PipelineInput['type'], PipelineInput> = {
  'group-spawned': { type: 'group-spawned', pids: [400, 401], taps: [] },
  'group-spawn-failed': { type: 'group-spawn-failed', error: portError },
  'node-exited': { type: 'node-exited', index: 0, code: 1, signal: null },
  'restart-timer': { type: 'restart-timer' },
  stop: { type: 'stop', graceMs: 100 },
  'stop-grace-timer': { type: 'stop-grace-timer' },
  quiesce: { type: 'quiesce' },
  'edge-sniffed': {
    type: 'edge-sniffed',
    edgeIndex: 0,
    verdict: { ty: 'json', mime: 'application/json', confPermille: 900 },
  },
};

/** A supervised two-node pipeline (one node dies at a time) in each state. */
const PIPELINE_EXPECTED: Record<PipelinePhase['kind'], Record<PipelineInput['type'], Outcome>> = {
  spawning: {
    'group-spawned': 'running',
    'group-spawn-failed': 'backoff',
    'node-exited': 'bug',
    'restart-timer': 'bug',
    stop: 'bug',
    'stop-grace-timer': 'bug',
    quiesce: 'bug',
    'edge-sniffed': 'ignore',
  },
  running: {
    'group-spawned': 'bug',
    'group-spawn-failed': 'bug',
    'node-exited': 'running',
    'restart-timer': 'ignore',
    stop: 'stopping',
    'stop-grace-timer': 'ignore',
    quiesce: 'stopping',
    'edge-sniffed': 'running',
  },
  stopping: {
    'group-spawned': 'bug',
    'group-spawn-failed': 'bug',
    'node-exited': 'stopping',
    'restart-timer': 'ignore',
    stop: 'ignore', // a longer grace than the one armed changes nothing
    'stop-grace-timer': 'stopping',
    quiesce: 'ignore',
    'edge-sniffed': 'stopping',
  },
  backoff: {
    'group-spawned': 'bug',
    'group-spawn-failed': 'bug',
    'node-exited': 'bug',
    'restart-timer': 'spawning',
    stop: 'done',
    'stop-grace-timer': 'ignore',
    quiesce: 'done',
    'edge-sniffed': 'backoff',
  },
  'crash-loop': {
    'group-spawned': 'bug',
    'group-spawn-failed': 'bug',
    'node-exited': 'bug',
    'restart-timer': 'ignore',
    stop: 'done',
    'stop-grace-timer': 'ignore',
    quiesce: 'ignore',
    'edge-sniffed': 'crash-loop',
  },
  done: {
    'group-spawned': 'bug',
    'group-spawn-failed': 'bug',
    'node-exited': 'bug',
    'restart-timer': 'ignore',
    stop: 'done',
    'stop-grace-timer': 'ignore',
    quiesce: 'ignore',
    'edge-sniffed': 'done',
  },
};

function withPipeline(phase: PipelinePhase): EngineState {
  const state = base();
  const spec = pipeSpec({ restart: { ...pipeSpec().restart, restartOnFailure: true } });
  const run = { source: '', vars: {}, tap: false, restarts: 1, backoffMs: 0 };
  const event = { type: 'pipeline-run' as const, id: PIPE, nodeIds: ['N0', 'N1'], spec, run };
  const alive = phase.kind === 'running' || phase.kind === 'stopping';
  const p: PipelineRec = {
    ...newPipeline(event, WS, 900, 'later'),
    phase,
    spawns: 1,
    lastStartMs: 900,
  };
  const nodes = p.nodes.map((n, i) => ({ ...n, pid: alive ? 300 + i : null, alive }));
  const pids = new Map(state.pids);
  if (alive)
    for (const [i] of nodes.entries()) pids.set(300 + i, { kind: 'node', id: PIPE, index: i });
  const timers = new Map(state.timers);
  // A stop in progress has its grace armed (a second, longer stop does not move it).
  if (phase.kind === 'stopping') {
    timers.set(encodeTimer({ kind: 'pipeline-stop-grace', id: PIPE }), NOW_MS + 50);
  }
  return { ...state, pids, timers, pipelines: new Map([[PIPE, { ...p, nodes }]]) };
}

const pipelineCells = Object.entries(PIPELINE_EXPECTED).flatMap(([state, row]) =>
  Object.entries(row).map(([event, outcome]) => [state, event, outcome] as const),
);

describe('the pipeline table', () => {
  it('has exactly the cells this test expects', () => {
    for (const row of Object.values(PIPELINE_TABLE)) {
      expect(Object.keys(row).sort()).toEqual(Object.keys(PIPELINE_INPUTS).sort());
    }
    expect(Object.keys(PIPELINE_TABLE).sort()).toEqual(Object.keys(PIPELINE_EXPECTED).sort());
    expect(pipelineCells).toHaveLength(6 * 8);
  });

  it.each(pipelineCells)('%s × %s → %s', (state, event, outcome) => {
    const kind = state as PipelinePhase['kind'];
    const input = PIPELINE_INPUTS[event as PipelineInput['type']];
    const before = withPipeline(PIPELINE_PHASES[kind]);
    const result = run(before, (d) => deliverPipeline(d, PIPE, input));
    if (typeof result === 'string') {
      expect(result).toBe(outcome);
      return;
    }
    expect(result.state.pipelines.get(PIPE)?.phase.kind).toBe(outcome);
  });
});

// ── workspaces ─────────────────────────────────────────────────────────────────────

const WORKSPACE_PHASES: Record<WorkspacePhase['kind'], WorkspacePhase> = {
  running: { kind: 'running' },
  stopping: { kind: 'stopping', stop: STOP },
};

const WORKSPACE_INPUTS: Record<WorkspaceInput['type'], WorkspaceInput> = {
  stop: { type: 'stop', graceMs: 100, reason: 'operator' },
  'stop-grace-timer': { type: 'stop-grace-timer' },
  'ttl-timer': { type: 'ttl-timer' },
  reaped: { type: 'reaped' },
  'stop-proceed': { type: 'stop-proceed', graceMs: 100 },
  'cgroup-created': { type: 'cgroup-created', handle: '/sys/fs/cgroup/x' },
  'cgroup-failed': { type: 'cgroup-failed', error: portError },
};

/** An empty workspace in each state: `gone` = its stop finished, the record went. */
const WORKSPACE_EXPECTED: Record<WorkspacePhase['kind'], Record<string, Outcome>> = {
  running: {
    stop: 'stopping',
    'stop-grace-timer': 'ignore',
    'ttl-timer': 'stopping',
    reaped: 'ignore',
    'stop-proceed': 'bug',
    'cgroup-created': 'running',
    'cgroup-failed': 'running',
  },
  stopping: {
    stop: 'ignore', // no grace armed: nothing left to kill
    'stop-grace-timer': 'stopping',
    'ttl-timer': 'ignore',
    reaped: 'gone',
    'stop-proceed': 'gone',
    'cgroup-created': 'stopping',
    'cgroup-failed': 'stopping',
  },
};

const workspaceCells = Object.entries(WORKSPACE_EXPECTED).flatMap(([state, row]) =>
  Object.entries(row).map(([event, outcome]) => [state, event, outcome] as const),
);

describe('the workspace table', () => {
  it('has exactly the cells this test expects', () => {
    for (const row of Object.values(WORKSPACE_TABLE)) {
      expect(Object.keys(row).sort()).toEqual(Object.keys(WORKSPACE_INPUTS).sort());
    }
    expect(workspaceCells).toHaveLength(2 * 7);
  });

  it.each(workspaceCells)('%s × %s → %s', (state, event, outcome) => {
    const phase = WORKSPACE_PHASES[state as WorkspacePhase['kind']];
    const input = WORKSPACE_INPUTS[event as WorkspaceInput['type']];
    const start = base();
    const ws = start.workspaces.get(WS);
    if (!ws) throw new Error('fixture: no workspace');
    const before = { ...start, workspaces: new Map([[WS, { ...ws, phase }]]) };
    const result = run(before, (d) => deliverWorkspace(d, WS, input));
    if (typeof result === 'string') {
      expect(result).toBe(outcome);
      return;
    }
    expect(result.state.workspaces.get(WS)?.phase.kind ?? 'gone').toBe(outcome);
  });
});
