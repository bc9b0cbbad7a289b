/**
 * The supervisor as one transition function: `step(state, event, nowMs) → {state, effects}`.
 * EVENTS routes each event to its entity; each entity's state × event table (command.ts,
 * pipeline.ts, workspace.ts) decides, with explicit no-op, refuse and bug cells. Events an
 * entity raises for another are drained here, in order, within the same step. Effects are
 * plain data the shell executes.
 */

import { defaultPolicy, type Policy } from '../policy/index.js';
import {
  COMMAND_TABLE,
  deliverCommand,
  onCommandRestart,
  onCommandRun,
  onCommandStop,
  onCommandsDeps,
  onCommandsEvict,
  onCommandsRun,
} from './command.js';
import { Draft } from './draft.js';
import type { EngineEvent, EngineOptions, EngineState, StepResult } from './model.js';
import {
  onCommandsRestored,
  onFlush,
  onPipelineDrop,
  onPipelineRelaunch,
  onPipelineSave,
  onSaveTimer,
  onSnapshotRestored,
  onSnapshotWriteFailed,
} from './persist.js';
import {
  deliverPipeline,
  onPipelineOperatorRestart,
  onPipelineRun,
  onPipelineStop,
  PIPELINE_TABLE,
} from './pipeline.js';
import { onDaemonShutdown, onShutdownGrace, onShutdownReaped } from './shutdown.js';
import { onSampleTimer, onStatsRequested, onStatsSampled } from './stats.js';
import { decodeTimer, type TimerKey } from './timers.js';
import {
  deliverWorkspace,
  onCgroupCreated,
  onCgroupFailed,
  onWorkspaceCreate,
  onWorkspaceStop,
  WORKSPACE_TABLE,
} from './workspace.js';

export { COMMAND_TABLE, PIPELINE_TABLE, WORKSPACE_TABLE };

/** Tries of a cgroup kill/remove that answers Busy, and the pause before the next one. */
export const CGROUP_TRIES_MAX = 5;
export const CGROUP_RETRY_MS = 100;

export function initialState(options: EngineOptions): EngineState {
  return {
    caps: null,
    workspaces: new Map(),
    commands: new Map(),
    pipelines: new Map(),
    saved: new Map(),
    pids: new Map(),
    timers: new Map(),
    shutdown: null,
    dirty: false,
    finishedSeq: 0,
    options,
  };
}

type Handlers = {
  [K in EngineEvent['type']]: (d: Draft, e: Extract<EngineEvent, { type: K }>) => void;
};

const EVENTS: Handlers = {
  'daemon-started': (d, e) => {
    d.state = { ...d.state, caps: e.caps };
  },
  'daemon-shutdown': onDaemonShutdown,
  'snapshot-restored': onSnapshotRestored,
  'pipeline-relaunch': onPipelineRelaunch,
  'commands-restored': onCommandsRestored,
  'workspace-create': onWorkspaceCreate,
  'workspace-stop': onWorkspaceStop,
  'cgroup-created': onCgroupCreated,
  'cgroup-failed': onCgroupFailed,
  'cgroup-busy': onCgroupBusy,
  'command-run': onCommandRun,
  'commands-run': onCommandsRun,
  'command-restart': onCommandRestart,
  'command-stop': onCommandStop,
  spawned: (d, e) => deliverCommand(d, e.cmdId, { type: 'spawned', pid: e.pid, wallMs: e.wallMs }),
  'spawn-failed': (d, e) => deliverCommand(d, e.cmdId, { type: 'spawn-failed', error: e.error }),
  'group-spawned': (d, e) => {
    deliverPipeline(d, e.pipelineId, { type: 'group-spawned', pids: e.pids, taps: e.taps });
  },
  'group-spawn-failed': (d, e) => {
    deliverPipeline(d, e.pipelineId, { type: 'group-spawn-failed', error: e.error });
  },
  'process-exited': onProcessExited,
  'timer-fired': onTimerFired,
  'stats-sampled': onStatsSampled,
  'stats-requested': onStatsRequested,
  notify: (d, e) => {
    const owner = d.state.pids.get(e.pid);
    if (owner?.kind === 'command')
      deliverCommand(d, owner.id, { type: 'notify', message: e.message });
  },
  'pipeline-run': onPipelineRun,
  'pipeline-stop': onPipelineStop,
  'pipeline-restart': onPipelineOperatorRestart,
  'pipeline-save': onPipelineSave,
  'pipeline-drop': onPipelineDrop,
  'edge-sniffed': (d, e) => {
    if (!d.state.pipelines.has(e.key)) return;
    deliverPipeline(d, e.key, { type: 'edge-sniffed', edgeIndex: e.edgeIndex, verdict: e.verdict });
  },
  'snapshot-write-failed': onSnapshotWriteFailed,
  flush: onFlush,
  // Raised inside a step.
  'command-quiesce': (d, e) => deliverCommand(d, e.cmdId, { type: 'quiesce' }),
  'pipeline-quiesce': (d, e) => deliverPipeline(d, e.id, { type: 'quiesce' }),
  'workspace-stop-proceed': (d, e) => {
    deliverWorkspace(d, e.wsId, { type: 'stop-proceed', graceMs: e.graceMs });
  },
  'workspace-reaped': (d, e) => {
    // Gone already: its stop finished with this very death.
    if (d.state.workspaces.has(e.wsId)) deliverWorkspace(d, e.wsId, { type: 'reaped' });
  },
  'commands-evict': onCommandsEvict,
  'commands-deps': onCommandsDeps,
};

/** Each timer kind to the entity event it is; a timer whose record is gone is stale. */
function onTimer(d: Draft, key: TimerKey): void {
  const has = (table: ReadonlyMap<string, unknown>, id: string) => table.has(id);
  switch (key.kind) {
    case 'restart':
    case 'watchdog':
    case 'kill':
    case 'ready': {
      if (!has(d.state.commands, key.id)) return;
      deliverCommand(d, key.id, { type: `${key.kind}-timer` });
      return;
    }
    case 'pipeline-restart':
    case 'pipeline-stop-grace': {
      if (!has(d.state.pipelines, key.id)) return;
      const type = key.kind === 'pipeline-restart' ? 'restart-timer' : 'stop-grace-timer';
      deliverPipeline(d, key.id, { type });
      return;
    }
    case 'stop-grace':
    case 'ttl': {
      if (!has(d.state.workspaces, key.id)) return;
      const type = key.kind === 'ttl' ? 'ttl-timer' : 'stop-grace-timer';
      deliverWorkspace(d, key.id, { type });
      return;
    }
    case 'cgroup-retry':
      d.emit({ type: `cgroup-${key.op}`, handle: key.handle, attempt: key.attempt + 1 });
      return;
    case 'shutdown-grace':
      onShutdownGrace(d);
      return;
    case 'sample':
      onSampleTimer(d);
      return;
    case 'save':
      onSaveTimer(d);
      return;
  }
}

function onTimerFired(d: Draft, e: Extract<EngineEvent, { type: 'timer-fired' }>): void {
  // A timer cancelled after the shell queued its firing is stale: ignore it.
  if (!d.timerFired(e.key)) return;
  onTimer(d, decodeTimer(e.key));
}

/** A Busy cgroup kill/remove is tried again on a timer, a bounded number of times. */
function onCgroupBusy(d: Draft, e: Extract<EngineEvent, { type: 'cgroup-busy' }>): void {
  if (e.attempt >= CGROUP_TRIES_MAX) {
    d.event(`cgroup-${e.op}-gave-up`, { handle: e.handle, attempts: e.attempt });
    return;
  }
  const key = { kind: 'cgroup-retry', op: e.op, handle: e.handle, attempt: e.attempt } as const;
  d.armTimer(key, d.nowMs + CGROUP_RETRY_MS * e.attempt);
}

function onProcessExited(d: Draft, e: Extract<EngineEvent, { type: 'process-exited' }>): void {
  const owner = d.state.pids.get(e.pid);
  // Not ours (already reaped, or a late duplicate notification): nothing to decide.
  if (!owner) {
    d.event('exit-unknown', { pid: e.pid });
    return;
  }
  const { code, signal } = e;
  if (owner.kind === 'command') deliverCommand(d, owner.id, { type: 'exited', code, signal });
  else deliverPipeline(d, owner.id, { type: 'node-exited', index: owner.index, code, signal });
  onShutdownReaped(d);
}

export function step(
  state: EngineState,
  event: EngineEvent,
  nowMs: number,
  policy: Policy = defaultPolicy,
): StepResult {
  if (!Number.isInteger(nowMs)) throw new Error(`step: nowMs must be an integer, got ${nowMs}`);
  const d = new Draft(state, nowMs, policy);
  let next: EngineEvent | undefined = event;
  // Stryker disable next-line ConditionalExpression: a refused step's draft is dropped whole
  while (next !== undefined && d.error === null) {
    const handler = EVENTS[next.type] as (d: Draft, e: EngineEvent) => void;
    handler(d, next);
    next = d.raised.shift();
  }
  const result = d.result(state);
  assertInvariants(result.state);
  return result;
}

/** Cheap structural checks after every step: bugs throw here, not three steps later. */
function assertInvariants(state: EngineState): void {
  // By forEach: a for-of over the entries allocates an entry array per pid, on every step.
  state.pids.forEach((owner, pid) => {
    if (owner.kind === 'command') {
      const phase = state.commands.get(owner.id)?.phase;
      // Only the starting, running and stopping phases hold a pid.
      const phasePid = phase !== undefined && 'pid' in phase ? phase.pid : undefined;
      if (phasePid !== pid) {
        throw new Error(`invariant: pid ${pid} owner ${owner.id} disagrees`);
      }
    } else {
      const node = state.pipelines.get(owner.id)?.nodes[owner.index];
      if (node?.pid !== pid || !node.alive) throw new Error(`invariant: node pid ${pid} disagrees`);
    }
  });
}
