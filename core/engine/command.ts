/**
 * Commands: run, then one state machine (COMMAND_TABLE) for spawn results, exits, notify
 * messages, timers, operator restarts and the workspace's stop.
 */

import type { RestartPolicy } from '../manifest/types.js';
import {
  defaultCrashLoopPolicy,
  defaultRestartPolicy,
  freshTally,
  GIVE_UP_MESSAGE,
  nextIncarnation,
} from '../policy/index.js';
import type { PortError, ProcRequest } from '../ports.js';
import type { CommandState, ExitStatus } from './api.js';
import { commandOf, type Draft, resolveCommand, resolveWorkspace, workspaceOf } from './draft.js';
import { commandPid } from './live.js';
import type { CommandPhase, CommandPhaseKind, CommandRec, EngineEvent } from './model.js';
import { deathFields, exitStatus } from './signals.js';
import { ensureSampling } from './stats.js';
import { type Cell, dispatch, type Table } from './table.js';

type Ev<T extends EngineEvent['type']> = Extract<EngineEvent, { type: T }>;

export const OPERATOR_RESTART_GRACE_MS = 1000;

/** What can happen to a command, once it exists. */
export type CommandInput =
  | { type: 'spawned'; pid: number; wallMs: number }
  | { type: 'spawn-failed'; error: PortError }
  | { type: 'exited'; code: number | null; signal: string | null }
  | { type: 'notify'; message: string }
  | { type: 'restart-timer' }
  | { type: 'watchdog-timer' }
  | { type: 'kill-timer' }
  | { type: 'operator-restart' }
  /** Its workspace (or the daemon) is stopping: no restart from now on. */
  | { type: 'quiesce' };

export function commandPolicy(cmd: CommandRec): RestartPolicy {
  return defaultRestartPolicy(cmd.spec.restartOnFailure);
}

/** The api.ts state a command's phase shows as. */
export function commandState(phase: CommandPhase): CommandState {
  switch (phase.kind) {
    case 'spawning':
    case 'starting':
      return 'starting';
    case 'running':
    case 'stopping':
      return 'running';
    case 'backoff':
    case 'crash-loop':
      return phase.kind;
    case 'done':
      return phase.reason === 'gave-up' ? 'gave-up' : 'exited';
  }
}

export function deliverCommand(d: Draft, cmdId: string, input: CommandInput): void {
  const cmd = commandOf(d.state, cmdId);
  const name = `command "${cmd.label}"`;
  dispatch(d, COMMAND_TABLE, cmd.phase.kind, cmd, input, { name });
}

function defaultLabel(id: string): string {
  return `run-${id.slice(-6).toLowerCase()}`;
}

export function onCommandRun(d: Draft, e: Ev<'command-run'>): void {
  const ws = resolveWorkspace(d.state, e.ref);
  if (!ws) {
    d.refuse({ code: 'not_found', message: `no workspace "${e.ref}"` });
    return;
  }
  if (ws.phase.kind !== 'running') {
    d.refuse({ code: 'conflict', message: `workspace "${ws.spec.label}" is stopping` });
    return;
  }
  if (e.spec.exec === '') {
    d.refuse({ code: 'invalid', field: 'exec', message: 'exec must not be empty' });
    return;
  }
  const label = e.spec.label === '' ? defaultLabel(e.id) : e.spec.label;
  if (resolveCommand(d.state, ws, label)) {
    const message = `command "${label}" already exists in workspace "${ws.spec.label}"`;
    d.refuse({ code: 'conflict', field: 'label', message });
    return;
  }
  const cmd: CommandRec = {
    id: e.id,
    label,
    wsId: ws.id,
    spec: { ...e.spec, label },
    phase: { kind: 'spawning' },
    exit: null,
    restarts: 0,
    tally: freshTally(defaultRestartPolicy(e.spec.restartOnFailure)),
    deathsMs: [],
    startedAtMs: d.nowMs,
    startedAtWallMs: 0,
    lastStartMs: null,
    spawns: 0,
  };
  d.put('commands', cmd);
  d.put('workspaces', { ...ws, commandIds: [...ws.commandIds, cmd.id] });
  spawnCommand(d, cmd);
}

function spawnCommand(d: Draft, cmd: CommandRec): void {
  if (d.state.shutdown) throw new Error(`spawnCommand: ${cmd.id} during the daemon's shutdown`);
  const ws = workspaceOf(d.state, cmd.wsId);
  const req: ProcRequest = {
    exec: cmd.spec.exec,
    argv: cmd.spec.argv,
    envp: cmd.spec.envp,
    cwd: cmd.spec.cwd,
    envelope: ws.envelope,
    notify: cmd.spec.ready === 'notify' || cmd.spec.watchdogMs > 0,
  };
  d.put('commands', { ...cmd, phase: { kind: 'spawning' }, lastStartMs: d.nowMs });
  d.emit({ type: 'spawn', cmdId: cmd.id, key: cmd.id, req });
}

function onSpawned(d: Draft, cmd: CommandRec, e: { pid: number; wallMs: number }): void {
  if (d.state.pids.has(e.pid)) throw new Error(`onSpawned: pid ${e.pid} already owned`);
  const phase: CommandPhase =
    cmd.spec.ready === 'notify'
      ? { kind: 'starting', pid: e.pid }
      : { kind: 'running', pid: e.pid };
  const started = { phase, exit: null, startedAtMs: d.nowMs, startedAtWallMs: e.wallMs };
  d.put('commands', { ...cmd, ...started, spawns: cmd.spawns + 1 });
  d.setPid(e.pid, { kind: 'command', id: cmd.id });
  const fields = { ws: cmd.wsId, cmd: cmd.id, label: cmd.label, pid: e.pid };
  d.event('run', { ...fields, restarts: cmd.restarts });
  // contract §4: no WATCHDOG=1 within watchdog_ms of the start → killed. The clock runs from
  // exec (not from READY=1), so a start-up that hangs before READY=1 is caught too.
  armWatchdog(d, cmd);
  ensureSampling(d);
}

function onSpawnFailed(d: Draft, cmd: CommandRec, e: { error: PortError }): void {
  const fields = { ws: cmd.wsId, cmd: cmd.id, label: cmd.label, reason: e.error.reason };
  d.event('spawn-failed', { ...fields, message: e.error.message });
  if (cmd.spawns === 0) {
    // Never ran: the caller gets the error, nothing is left behind.
    const ws = workspaceOf(d.state, cmd.wsId);
    d.put('workspaces', { ...ws, commandIds: ws.commandIds.filter((id) => id !== cmd.id) });
    d.delete('commands', cmd.id);
    d.emit({ type: 'release', key: cmd.id });
    return;
  }
  afterDeath(d, cmd, { code: null, signal: null, status: 127 }, 0);
}

function onExited(d: Draft, cmd: CommandRec, e: { code: number | null; signal: string | null }) {
  const pid = commandPid(cmd);
  if (pid === null) throw new Error(`onExited: ${cmd.id} was not alive`);
  const exit = exitStatus(e.code, e.signal);
  d.deletePid(pid);
  d.cancelTimer({ kind: 'watchdog', id: cmd.id });
  d.cancelTimer({ kind: 'kill', id: cmd.id });
  const fields = { ws: cmd.wsId, cmd: cmd.id, label: cmd.label, pid, ...deathFields(exit) };
  d.event('exit', { ...fields, status: exit.status });
  const ws = workspaceOf(d.state, cmd.wsId);
  if (e.signal === 'SIGKILL' && cmd.phase.kind !== 'stopping' && ws.phase.kind === 'running') {
    // A SIGKILL nobody here sent may be the kernel's OOM killer: sample the cgroup now.
    d.put('workspaces', { ...ws, lastKilledCmd: cmd.id });
    const cgroup = ws.envelope.cgroup;
    if (cgroup) d.emit({ type: 'sample', wsId: ws.id, pids: [], cgroup, atMs: d.nowMs });
  }
  afterDeath(d, { ...cmd, exit }, exit, d.nowMs - cmd.startedAtMs);
  d.raise({ type: 'workspace-reaped', wsId: cmd.wsId });
}

function afterDeath(d: Draft, cmd: CommandRec, exit: ExitStatus, runMs: number): void {
  if (cmd.phase.kind === 'stopping' && cmd.phase.after === 'respawn') {
    spawnCommand(d, { ...freshStart(cmd), restarts: cmd.restarts + 1 });
    return;
  }
  const ws = workspaceOf(d.state, cmd.wsId);
  const stopping =
    cmd.phase.kind === 'stopping' || ws.phase.kind !== 'running' || d.state.shutdown !== null;
  const { next, tally, deathsMs } = nextIncarnation(
    {
      restart: commandPolicy(cmd),
      crashLoop: defaultCrashLoopPolicy(),
      exit,
      runMs,
      stopping,
      tally: cmd.tally,
      deathsMs: cmd.deathsMs,
      nowMs: d.nowMs,
      lastStartMs: cmd.lastStartMs,
    },
    d.policy,
  );
  const base = { ws: cmd.wsId, cmd: cmd.id, label: cmd.label };
  const after = { ...cmd, tally, deathsMs };
  switch (next.kind) {
    case 'done':
      d.put('commands', { ...after, phase: { kind: 'done', reason: next.reason } });
      break;
    case 'give-up':
      d.put('commands', { ...after, phase: { kind: 'done', reason: 'gave-up' } });
      d.event('give-up', { ...base, restarts: cmd.restarts, message: GIVE_UP_MESSAGE });
      break;
    case 'crash-loop':
      d.put('commands', { ...after, phase: { kind: 'crash-loop' } });
      d.event('crash-loop', { ...base, deaths: next.deaths, restarts: cmd.restarts });
      break;
    case 'backoff': {
      const { atMs, delayMs } = next;
      d.put('commands', { ...after, phase: { kind: 'backoff', atMs, delayMs } });
      d.armTimer({ kind: 'restart', id: cmd.id }, atMs);
      d.event('restart', { ...base, backoff_ms: delayMs, restarts: cmd.restarts + 1 });
      return;
    }
  }
  d.raise({ type: 'commands-evict', wsId: cmd.wsId });
}

/** An operator's fresh start: the tally and the death window are cleared. */
function freshStart(cmd: CommandRec): CommandRec {
  return { ...cmd, tally: freshTally(commandPolicy(cmd)), deathsMs: [] };
}

function onRestartTimer(d: Draft, cmd: CommandRec): void {
  spawnCommand(d, { ...cmd, restarts: cmd.restarts + 1 });
}

function onWatchdog(d: Draft, cmd: CommandRec): void {
  const pid = commandPid(cmd) as number;
  const fields = { ws: cmd.wsId, cmd: cmd.id, label: cmd.label, pid };
  d.event('watchdog', { ...fields, watchdog_ms: cmd.spec.watchdogMs });
  d.emit({ type: 'signal', pid, signal: 'SIGKILL' });
}

function onKillTimer(d: Draft, cmd: CommandRec): void {
  d.emit({ type: 'signal', pid: commandPid(cmd) as number, signal: 'SIGKILL' });
}

function onNotify(d: Draft, cmd: CommandRec, e: { message: string }): void {
  const lines = e.message.split('\n').map((l) => l.trim());
  if (lines.includes('READY=1') && cmd.phase.kind === 'starting') {
    const pid = cmd.phase.pid;
    d.put('commands', { ...cmd, phase: { kind: 'running', pid } });
    d.event('ready', { ws: cmd.wsId, cmd: cmd.id, label: cmd.label, pid });
  }
  if (lines.includes('WATCHDOG=1')) armWatchdog(d, cmd);
}

function armWatchdog(d: Draft, cmd: CommandRec): void {
  if (cmd.spec.watchdogMs <= 0) return;
  d.armTimer({ kind: 'watchdog', id: cmd.id }, d.nowMs + cmd.spec.watchdogMs);
}

/** Operator restart of a live command: TERM now, KILL after the grace, respawn at exit. */
function restartAlive(d: Draft, cmd: CommandRec): void {
  const pid = commandPid(cmd) as number;
  noteOperatorRestart(d, cmd);
  d.put('commands', { ...cmd, phase: { kind: 'stopping', pid, after: 'respawn' } });
  d.cancelTimer({ kind: 'watchdog', id: cmd.id });
  d.emit({ type: 'signal', pid, signal: 'SIGTERM' });
  d.armTimer({ kind: 'kill', id: cmd.id }, d.nowMs + OPERATOR_RESTART_GRACE_MS);
}

function restartStopping(d: Draft, cmd: CommandRec): void {
  if (cmd.phase.kind === 'stopping' && cmd.phase.after !== 'respawn') {
    d.refuse({ code: 'conflict', message: `command "${cmd.label}" is stopping` });
    return;
  }
  noteOperatorRestart(d, cmd); // already on its way to a fresh start
}

/** Operator restart of a dead command (backoff, crash-loop, done): a fresh start now. */
function restartDead(d: Draft, cmd: CommandRec): void {
  noteOperatorRestart(d, cmd);
  d.cancelTimer({ kind: 'restart', id: cmd.id });
  spawnCommand(d, { ...freshStart(cmd), restarts: cmd.restarts + 1 });
}

function noteOperatorRestart(d: Draft, cmd: CommandRec): void {
  const fields = { ws: cmd.wsId, cmd: cmd.id, label: cmd.label };
  d.event('restart', { ...fields, backoff_ms: 0, operator: true });
}

function quiesceAlive(d: Draft, cmd: CommandRec): void {
  d.cancelTimer({ kind: 'watchdog', id: cmd.id });
  d.cancelTimer({ kind: 'kill', id: cmd.id });
  const pid = commandPid(cmd) as number;
  d.put('commands', { ...cmd, phase: { kind: 'stopping', pid, after: 'done' } });
}

function quiesceBackoff(d: Draft, cmd: CommandRec): void {
  d.cancelTimer({ kind: 'restart', id: cmd.id });
  d.put('commands', { ...cmd, phase: { kind: 'done', reason: 'stopped' } });
  d.raise({ type: 'commands-evict', wsId: cmd.wsId });
}

type C<T extends CommandInput['type']> = Cell<CommandRec, Extract<CommandInput, { type: T }>>;
type Row = { [T in CommandInput['type']]: C<T> };

/** Dead: nothing runs, nothing is armed; only an operator restart changes it. */
const DEAD: Row = {
  spawned: 'bug',
  'spawn-failed': 'bug',
  exited: 'bug',
  notify: 'bug',
  'restart-timer': 'ignore',
  'watchdog-timer': 'ignore',
  'kill-timer': 'ignore',
  'operator-restart': restartDead,
  quiesce: 'ignore',
};

const ALIVE: Row = {
  spawned: 'bug',
  'spawn-failed': 'bug',
  exited: onExited,
  notify: onNotify,
  'restart-timer': 'ignore',
  'watchdog-timer': onWatchdog,
  'kill-timer': 'ignore',
  'operator-restart': restartAlive,
  quiesce: quiesceAlive,
};

export const COMMAND_TABLE: Table<CommandPhaseKind, CommandInput, CommandRec> = {
  // Spawn effects are answered within the step that asked: nothing else reaches it.
  spawning: {
    spawned: onSpawned,
    'spawn-failed': onSpawnFailed,
    exited: 'bug',
    notify: 'bug',
    'restart-timer': 'bug',
    'watchdog-timer': 'bug',
    'kill-timer': 'bug',
    'operator-restart': 'bug',
    quiesce: 'bug',
  },
  starting: ALIVE,
  running: ALIVE,
  stopping: {
    ...ALIVE,
    notify: 'ignore',
    'watchdog-timer': 'ignore',
    'kill-timer': onKillTimer,
    'operator-restart': restartStopping,
    quiesce: (d, cmd) => {
      d.cancelTimer({ kind: 'kill', id: cmd.id });
      const pid = commandPid(cmd) as number;
      d.put('commands', { ...cmd, phase: { kind: 'stopping', pid, after: 'done' } });
    },
  },
  backoff: {
    ...DEAD,
    'restart-timer': onRestartTimer,
    quiesce: quiesceBackoff,
  },
  'crash-loop': DEAD,
  done: DEAD,
};

export function onCommandRestart(d: Draft, e: Ev<'command-restart'>): void {
  const ws = resolveWorkspace(d.state, e.ref);
  if (!ws) {
    d.refuse({ code: 'not_found', message: `no workspace "${e.ref}"` });
    return;
  }
  const cmd = resolveCommand(d.state, ws, e.cmd);
  if (!cmd) {
    d.refuse({ code: 'not_found', message: `no command "${e.cmd}"` });
    return;
  }
  if (ws.phase.kind !== 'running') {
    d.refuse({ code: 'conflict', message: `workspace "${ws.spec.label}" is stopping` });
    return;
  }
  deliverCommand(d, cmd.id, { type: 'operator-restart' });
}

/** Dead command records are bounded per workspace: the oldest dead ones go first. */
export function onCommandsEvict(d: Draft, e: Ev<'commands-evict'>): void {
  const ws = d.state.workspaces.get(e.wsId);
  if (!ws) return; // its workspace finished stopping in the same step
  const dead = ws.commandIds.filter((id) => {
    const kind = d.state.commands.get(id)?.phase.kind;
    return kind === 'done' || kind === 'crash-loop';
  });
  const excess = dead.length - d.state.options.deadCommandsMax;
  if (excess <= 0) return;
  const evicted = new Set(dead.slice(0, excess));
  for (const id of evicted) {
    d.delete('commands', id);
    d.emit({ type: 'release', key: id });
  }
  d.put('workspaces', { ...ws, commandIds: ws.commandIds.filter((id) => !evicted.has(id)) });
}
