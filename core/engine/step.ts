/**
 * The supervisor as one transition function: `step(state, event, nowMs) → {state, effects}`.
 * An explicit table maps each event type to a small handler (s6's action table); timer
 * events are dispatched again by timer kind. Effects are plain data the shell executes.
 */

import { defaultPolicy, type Policy } from '../policy/index.js';
import {
  onCommandExited,
  onCommandNotify,
  onCommandRestart,
  onCommandRun,
  onKillTimer,
  onRestartTimer,
  onSpawned,
  onSpawnFailed,
  onWatchdog,
} from './command.js';
import { Draft } from './draft.js';
import type { EngineEvent, EngineOptions, EngineState, StepResult } from './model.js';
import {
  onFlush,
  onPipelineDrop,
  onPipelineRelaunch,
  onPipelineSave,
  onSaveTimer,
  onSnapshotRestored,
  onSnapshotWriteFailed,
} from './persist.js';
import {
  onEdgeSniffed,
  onGroupSpawned,
  onGroupSpawnFailed,
  onNodeExited,
  onPipelineGrace,
  onPipelineRestartTimer,
  onPipelineRun,
  onPipelineStop,
} from './pipeline.js';
import { onSampleTimer, onStatsRequested, onStatsSampled } from './stats.js';
import {
  onCgroupCreated,
  onCgroupFailed,
  onStopGrace,
  onTtl,
  onWorkspaceCreate,
  onWorkspaceStop,
} from './workspace.js';

export function initialState(options: EngineOptions): EngineState {
  return {
    caps: null,
    workspaces: new Map(),
    commands: new Map(),
    pipelines: new Map(),
    saved: new Map(),
    pids: new Map(),
    timers: new Map(),
    dirty: false,
    finishedSeq: 0,
    options,
  };
}

type Handlers = {
  [K in EngineEvent['type']]: (d: Draft, e: Extract<EngineEvent, { type: K }>) => void;
};

const HANDLERS: Handlers = {
  'daemon-started': (d, e) => {
    d.state = { ...d.state, caps: e.caps };
  },
  'snapshot-restored': onSnapshotRestored,
  'pipeline-relaunch': onPipelineRelaunch,
  'workspace-create': onWorkspaceCreate,
  'workspace-stop': onWorkspaceStop,
  'cgroup-created': onCgroupCreated,
  'cgroup-failed': onCgroupFailed,
  'command-run': onCommandRun,
  'command-restart': onCommandRestart,
  spawned: onSpawned,
  'spawn-failed': onSpawnFailed,
  'group-spawned': onGroupSpawned,
  'group-spawn-failed': onGroupSpawnFailed,
  'process-exited': onProcessExited,
  'timer-fired': onTimerFired,
  'stats-sampled': onStatsSampled,
  'stats-requested': onStatsRequested,
  notify: onNotify,
  'pipeline-run': onPipelineRun,
  'pipeline-stop': onPipelineStop,
  'pipeline-restart': (d, e) => onPipelineRestartTimer(d, e.id),
  'pipeline-save': onPipelineSave,
  'pipeline-drop': onPipelineDrop,
  'edge-sniffed': onEdgeSniffed,
  'snapshot-written': () => {},
  'snapshot-write-failed': onSnapshotWriteFailed,
  flush: onFlush,
};

/** Timer keys are `kind` or `kind:id`. */
const TIMERS: Record<string, (d: Draft, id: string) => void> = {
  restart: onRestartTimer,
  prestart: onPipelineRestartTimer,
  'stop-grace': onStopGrace,
  'pstop-grace': onPipelineGrace,
  ttl: onTtl,
  watchdog: onWatchdog,
  kill: onKillTimer,
  sample: (d) => onSampleTimer(d),
  save: (d) => onSaveTimer(d),
};

function onTimerFired(d: Draft, e: Extract<EngineEvent, { type: 'timer-fired' }>): void {
  // A timer cancelled after the shell queued its firing is stale: ignore it.
  if (!d.timerFired(e.key)) return;
  const colon = e.key.indexOf(':');
  const kind = colon < 0 ? e.key : e.key.slice(0, colon);
  const handler = TIMERS[kind];
  if (!handler) throw new Error(`step: unknown timer kind "${kind}"`);
  handler(d, colon < 0 ? '' : e.key.slice(colon + 1));
}

function onProcessExited(d: Draft, e: Extract<EngineEvent, { type: 'process-exited' }>): void {
  const owner = d.state.pids.get(e.pid);
  // Not ours (already reaped, or a late duplicate notification): nothing to decide.
  if (!owner) {
    d.event('exit-unknown', { pid: e.pid });
    return;
  }
  if (owner.kind === 'command') {
    onCommandExited(d, owner.id, e.code, e.signal);
    return;
  }
  onNodeExited(d, owner.id, owner.index, e.code, e.signal);
}

function onNotify(d: Draft, e: Extract<EngineEvent, { type: 'notify' }>): void {
  const owner = d.state.pids.get(e.pid);
  if (owner?.kind === 'command') onCommandNotify(d, owner.id, e.message);
}

export function step(
  state: EngineState,
  event: EngineEvent,
  nowMs: number,
  policy: Policy = defaultPolicy,
): StepResult {
  if (!Number.isInteger(nowMs)) throw new Error(`step: nowMs must be an integer, got ${nowMs}`);
  const d = new Draft(state, nowMs, policy);
  const handler = HANDLERS[event.type] as (d: Draft, e: EngineEvent) => void;
  handler(d, event);
  const result = d.result(state);
  assertInvariants(result.state);
  return result;
}

/** Cheap structural checks after every step: bugs throw here, not three steps later. */
function assertInvariants(state: EngineState): void {
  for (const [pid, owner] of state.pids) {
    if (owner.kind === 'command') {
      const cmd = state.commands.get(owner.id);
      if (cmd?.pid !== pid) throw new Error(`invariant: pid ${pid} owner ${owner.id} disagrees`);
    } else {
      const node = state.pipelines.get(owner.id)?.nodes[owner.index];
      if (node?.pid !== pid || !node.alive) throw new Error(`invariant: node pid ${pid} disagrees`);
    }
  }
}
