/**
 * Commands: run, then one state machine (COMMAND_TABLE) for spawn results, exits, notify
 * messages, timers, operator restarts and the workspace's stop.
 */

import type { CommandSpec, CrashLoopPolicy, RestartPolicy } from '../manifest/types.js';
import { freshTally, GIVE_UP_MESSAGE, nextIncarnation, RESET_AFTER_MS } from '../policy/index.js';
import type { PortError, ProcRequest } from '../ports.js';
import type { CommandState, ExitStatus } from './api.js';
import { commandOf, type Draft, resolveCommand, resolveWorkspace, workspaceOf } from './draft.js';
import { refusedGrace } from './grace.js';
import { commandPid, commandsOf } from './live.js';
import type { CommandPhase, CommandPhaseKind, CommandRec, EngineEvent } from './model.js';
import { deathFields, exitStatus } from './signals.js';
import { ensureSampling } from './stats.js';
import { type Cell, dispatch, type Table } from './table.js';

type Ev<T extends EngineEvent['type']> = Extract<EngineEvent, { type: T }>;

export const OPERATOR_RESTART_GRACE_MS = 1000;
/**
 * A spawn that failed for lack of a daemon resource (EMFILE, ENFILE, ENOMEM: the
 * LimitExceeded reason) is the daemon's fault, not the command's: retried after at least
 * this long, never counted as a death or a crash-loop strike.
 */
export const RESOURCE_RETRY_MS_MIN = 1000;

/** What can happen to a command, once it exists. */
export type CommandInput =
  | { type: 'spawned'; pid: number; wallMs: number }
  | { type: 'spawn-failed'; error: PortError }
  | { type: 'exited'; code: number | null; signal: string | null }
  | { type: 'notify'; message: string }
  | { type: 'restart-timer' }
  | { type: 'watchdog-timer' }
  | { type: 'kill-timer' }
  | { type: 'ready-timer' }
  | { type: 'operator-restart' }
  | { type: 'operator-stop'; graceMs: number; remove: boolean }
  /** Its workspace (or the daemon) is stopping: no restart from now on. */
  | { type: 'quiesce' }
  /** Another command of the workspace became ready: are this one's dependencies met? */
  | { type: 'deps-check' };

export function commandPolicy(cmd: CommandRec): RestartPolicy {
  const { spec } = cmd;
  return {
    restartOnFailure: spec.restart !== 'no',
    backoffMsInitial: spec.backoffMs,
    backoffMsMax: spec.backoffMsMax,
    restartMax: 0,
    resetAfterMs: RESET_AFTER_MS,
  };
}

export function commandCrashLoop(cmd: CommandRec): CrashLoopPolicy {
  return { deathsMax: cmd.spec.crashLoopMax, windowMs: cmd.spec.crashLoopWindowMs };
}

/** A supervised command: part of the declared intent (persisted, restored, relaunched). */
export const isService = (cmd: CommandRec): boolean => cmd.spec.restart !== 'no';

/** The api.ts state a command's phase shows as. */
export function commandState(phase: CommandPhase): CommandState {
  switch (phase.kind) {
    case 'waiting':
      return 'waiting';
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
      if (phase.reason === 'gave-up' || phase.reason === 'lost') return phase.reason;
      return 'exited';
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
  const cmd = admitCommand(d, e.ref, e.id, e.spec);
  if (!cmd) return;
  // Acknowledged means durable: a service is relaunched, a one-shot reported lost after a crash.
  d.writeThrough();
  startAdmitted(d, cmd);
}

/**
 * Several commands of one workspace in one step (an apply's dependency level): all are
 * admitted or none is (the first refusal names its label), and one write-through covers
 * them all before any is spawned.
 */
export function onCommandsRun(d: Draft, e: Ev<'commands-run'>): void {
  const admitted: CommandRec[] = [];
  for (const run of e.runs) {
    const cmd = admitCommand(d, e.ref, run.id, run.spec);
    if (!cmd) {
      const error = d.error;
      const label = run.spec.label === '' ? run.id : run.spec.label;
      if (error) d.refuse({ ...error, message: `command "${label}": ${error.message}` });
      return;
    }
    admitted.push(cmd);
  }
  if (admitted.length === 0) return;
  d.writeThrough();
  for (const cmd of admitted) startAdmitted(d, commandOf(d.state, cmd.id));
}

/** The command's record, added to its workspace; null (refused) when it cannot run. */
function admitCommand(d: Draft, ref: string, id: string, spec: CommandSpec): CommandRec | null {
  const ws = resolveWorkspace(d.state, ref);
  if (!ws) {
    d.refuse({ code: 'not_found', message: `no workspace "${ref}"` });
    return null;
  }
  if (ws.phase.kind !== 'running') {
    d.refuse({ code: 'conflict', message: `workspace "${ws.spec.label}" is stopping` });
    return null;
  }
  if (spec.exec === '') {
    d.refuse({ code: 'invalid', field: 'exec', message: 'exec must not be empty' });
    return null;
  }
  const label = spec.label === '' ? defaultLabel(id) : spec.label;
  if (d.state.commands.has(id) || resolveCommand(d.state, ws, label)) {
    const message = `command "${label}" already exists in workspace "${ws.spec.label}"`;
    d.refuse({ code: 'conflict', field: 'label', message });
    return null;
  }
  const cmd = newCommand(id, ws.id, { ...spec, label }, d.nowMs);
  d.put('commands', cmd);
  d.put('workspaces', { ...ws, commandIds: [...ws.commandIds, cmd.id] });
  return cmd;
}

function startAdmitted(d: Draft, cmd: CommandRec): void {
  if (depsReady(d, cmd)) {
    spawnCommand(d, cmd, 'caller');
    return;
  }
  const dependsOn = cmd.spec.dependsOn.join(',');
  d.event('waiting', { ws: cmd.wsId, cmd: cmd.id, label: cmd.label, depends_on: dependsOn });
}

export function newCommand(id: string, wsId: string, spec: CommandSpec, nowMs: number) {
  const cmd: CommandRec = {
    id,
    label: spec.label,
    wsId,
    spec,
    phase: { kind: 'waiting' },
    exit: null,
    restarts: 0,
    // Stryker disable next-line ObjectLiteral: replaced by freshTally below
    tally: { restarts: 0, backoffMs: 0 },
    deathsMs: [],
    startedAtMs: nowMs,
    startedAtWallMs: 0,
    lastStartMs: null,
    spawns: 0,
  };
  return { ...cmd, tally: freshTally(commandPolicy(cmd)) };
}

/** Every label in dependsOn names a command of the workspace that is running (ready). */
function depsReady(d: Draft, cmd: CommandRec): boolean {
  // Stryker disable next-line ConditionalExpression: a fast path; every() of none is true
  if (cmd.spec.dependsOn.length === 0) return true;
  const ws = workspaceOf(d.state, cmd.wsId);
  return cmd.spec.dependsOn.every((label) => {
    const dep = resolveCommand(d.state, ws, label);
    return dep?.phase.kind === 'running';
  });
}

export function onCommandsDeps(d: Draft, e: Ev<'commands-deps'>): void {
  // Stryker disable next-line ConditionalExpression: commandsOf a gone workspace is empty
  if (!d.state.workspaces.has(e.wsId)) return;
  for (const cmd of commandsOf(d.state, e.wsId)) {
    // Stryker disable next-line ConditionalExpression: deps-check is 'ignore' in other states
    if (cmd.phase.kind === 'waiting') deliverCommand(d, cmd.id, { type: 'deps-check' });
  }
}

function onDepsCheck(d: Draft, cmd: CommandRec): void {
  // The caller was answered when it began to wait: a failed spawn now is a death.
  if (depsReady(d, cmd)) spawnCommand(d, cmd, 'later');
}

/** Restored services start (or wait for their dependencies) once every record is back. */
export function startRestored(d: Draft, cmdId: string): void {
  const cmd = commandOf(d.state, cmdId);
  if (depsReady(d, cmd)) spawnCommand(d, cmd, 'later');
}

function spawnCommand(d: Draft, cmd: CommandRec, origin: 'caller' | 'later' = 'later'): void {
  if (d.state.shutdown) throw new Error(`spawnCommand: ${cmd.id} during the daemon's shutdown`);
  const ws = workspaceOf(d.state, cmd.wsId);
  const { spec } = cmd;
  const req: ProcRequest = {
    exec: spec.exec,
    argv: spec.argv,
    envp: spec.envp,
    cwd: spec.cwd,
    envelope: ws.envelope,
    notify: spec.ready === 'notify' || spec.watchdogMs > 0,
    watchdogUs: spec.watchdogMs * 1000,
  };
  if (spec.user !== '') req.user = spec.user;
  if (spec.group !== '') req.group = spec.group;
  if (spec.logs) req.logs = spec.logs;
  d.put('commands', { ...cmd, phase: { kind: 'spawning', origin }, lastStartMs: d.nowMs });
  d.emit({ type: 'spawn', cmdId: cmd.id, key: cmd.id, req });
}

function onSpawned(d: Draft, cmd: CommandRec, e: { pid: number; wallMs: number }): void {
  if (d.state.pids.has(e.pid)) throw new Error(`onSpawned: pid ${e.pid} already owned`);
  const notify = cmd.spec.ready === 'notify';
  const phase: CommandPhase = notify
    ? { kind: 'starting', pid: e.pid }
    : { kind: 'running', pid: e.pid };
  const started = { phase, exit: null, startedAtMs: d.nowMs, startedAtWallMs: e.wallMs };
  d.put('commands', { ...cmd, ...started, spawns: cmd.spawns + 1 });
  d.setPid(e.pid, { kind: 'command', id: cmd.id });
  const fields = { ws: cmd.wsId, cmd: cmd.id, label: cmd.label, pid: e.pid };
  d.event('run', { ...fields, restarts: cmd.restarts });
  if (notify && cmd.spec.readyTimeoutMs > 0) {
    d.armTimer({ kind: 'ready', id: cmd.id }, d.nowMs + cmd.spec.readyTimeoutMs);
  }
  // The watchdog runs once start-up is complete: from exec here, from READY=1 with notify.
  if (!notify) {
    armWatchdog(d, cmd);
    d.raise({ type: 'commands-deps', wsId: cmd.wsId });
  }
  ensureSampling(d);
}

function onSpawnFailed(d: Draft, cmd: CommandRec, e: { error: PortError }): void {
  const fields = { ws: cmd.wsId, cmd: cmd.id, label: cmd.label, reason: e.error.reason };
  d.event('spawn-failed', { ...fields, message: e.error.message });
  if (cmd.phase.kind === 'spawning' && cmd.phase.origin === 'caller') {
    // Never ran: the caller gets the error, nothing is left behind. The record written
    // for it goes at the next save (a port result never writes through: a failed write
    // would roll the result back and leave the record spawning).
    dropRecord(d, cmd);
    d.markDirty();
    return;
  }
  if (e.error.reason === 'LimitExceeded') {
    // The daemon ran out (fds, memory): not the command's failure. Try again later.
    const delayMs = Math.max(RESOURCE_RETRY_MS_MIN, cmd.tally.backoffMs);
    const atMs = d.nowMs + delayMs;
    d.put('commands', { ...cmd, phase: { kind: 'backoff', atMs, delayMs } });
    d.armTimer({ kind: 'restart', id: cmd.id }, atMs);
    d.event('spawn-deferred', { ...fields, backoff_ms: delayMs });
    return;
  }
  afterDeath(d, cmd, { code: null, signal: null, status: 127 }, 0);
}

function dropRecord(d: Draft, cmd: CommandRec): void {
  const ws = workspaceOf(d.state, cmd.wsId);
  d.put('workspaces', { ...ws, commandIds: ws.commandIds.filter((id) => id !== cmd.id) });
  d.delete('commands', cmd.id);
  d.emit({ type: 'release', key: cmd.id });
}

function onExited(d: Draft, cmd: CommandRec, e: { code: number | null; signal: string | null }) {
  const pid = commandPid(cmd);
  if (pid === null) throw new Error(`onExited: ${cmd.id} was not alive`);
  const exit = exitStatus(e.code, e.signal);
  d.deletePid(pid);
  d.cancelTimer({ kind: 'watchdog', id: cmd.id });
  d.cancelTimer({ kind: 'kill', id: cmd.id });
  d.cancelTimer({ kind: 'ready', id: cmd.id });
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
  const { phase } = cmd;
  // The daemon's shutdown cancels an operator restart under way (a remove still happens).
  const cancelled = phase.kind === 'stopping' && phase.after === 'respawn' && d.state.shutdown;
  if (phase.kind === 'stopping' && phase.after !== 'done' && !cancelled) {
    afterOperatorStop(d, cmd, phase.after);
    return;
  }
  if (cancelled) d.emit({ type: 'settle', kind: 'command-restart', id: cmd.id, reaped: 1 });
  const ws = workspaceOf(d.state, cmd.wsId);
  const stopping =
    cmd.phase.kind === 'stopping' || ws.phase.kind !== 'running' || d.state.shutdown !== null;
  const { next, tally, deathsMs } = nextIncarnation(
    {
      restart: commandPolicy(cmd),
      crashLoop: commandCrashLoop(cmd),
      exit,
      runMs,
      stopping,
      tally: cmd.tally,
      deathsMs: cmd.deathsMs,
      nowMs: d.nowMs,
      lastStartMs: cmd.lastStartMs,
      always: cmd.spec.restart === 'always',
    },
    d.policy,
  );
  const base = { ws: cmd.wsId, cmd: cmd.id, label: cmd.label };
  const after = { ...cmd, tally, deathsMs };
  switch (next.kind) {
    case 'done':
      d.put('commands', { ...after, phase: { kind: 'done', reason: next.reason } });
      if (cmd.phase.kind === 'stopping') d.emit(settleCommand(cmd, 1));
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
  // It stopped for good: no longer persisted (a crash-loop waits for an operator, persisted).
  if (next.kind !== 'crash-loop') d.markDirty();
  d.raise({ type: 'commands-evict', wsId: cmd.wsId });
  d.raise({ type: 'commands-deps', wsId: cmd.wsId });
}

function settleCommand(cmd: CommandRec, reaped: number) {
  return { type: 'settle' as const, kind: 'command' as const, id: cmd.id, reaped };
}

/** The operator's restart or remove, once the old incarnation is gone. */
function afterOperatorStop(d: Draft, cmd: CommandRec, after: 'respawn' | 'remove'): void {
  if (after === 'remove') {
    dropRecord(d, cmd);
    d.markDirty(); // the remove itself was written through when it was asked
    d.emit(settleCommand(cmd, 1));
    d.raise({ type: 'commands-deps', wsId: cmd.wsId });
    return;
  }
  spawnCommand(d, { ...freshStart(cmd), restarts: cmd.restarts + 1 });
  d.emit({ type: 'settle', kind: 'command-restart', id: cmd.id, reaped: 1 });
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

/** No READY=1 in time: killed, and its death is a failure like any other. */
function onReadyTimeout(d: Draft, cmd: CommandRec): void {
  const pid = commandPid(cmd) as number;
  const fields = { ws: cmd.wsId, cmd: cmd.id, label: cmd.label, pid };
  d.event('ready-timeout', { ...fields, ready_timeout_ms: cmd.spec.readyTimeoutMs });
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
    d.cancelTimer({ kind: 'ready', id: cmd.id });
    d.event('ready', { ws: cmd.wsId, cmd: cmd.id, label: cmd.label, pid });
    armWatchdog(d, cmd);
    d.raise({ type: 'commands-deps', wsId: cmd.wsId });
    return;
  }
  // Pings before READY=1 do not count: the watchdog is not armed yet.
  if (lines.includes('WATCHDOG=1') && cmd.phase.kind === 'running') armWatchdog(d, cmd);
}

function armWatchdog(d: Draft, cmd: CommandRec): void {
  if (cmd.spec.watchdogMs <= 0) return;
  d.armTimer({ kind: 'watchdog', id: cmd.id }, d.nowMs + cmd.spec.watchdogMs);
}

/** Operator restart of a live command: TERM now, KILL after the grace, respawn at exit. */
function restartAlive(d: Draft, cmd: CommandRec): void {
  noteOperatorRestart(d, cmd);
  stopAlive(d, cmd, OPERATOR_RESTART_GRACE_MS, 'respawn');
}

function stopAlive(
  d: Draft,
  cmd: CommandRec,
  graceMs: number,
  after: 'done' | 'respawn' | 'remove',
) {
  const pid = commandPid(cmd) as number;
  d.put('commands', { ...cmd, phase: { kind: 'stopping', pid, after } });
  d.cancelTimer({ kind: 'watchdog', id: cmd.id });
  d.cancelTimer({ kind: 'ready', id: cmd.id });
  if (graceMs === 0) {
    d.emit({ type: 'signal', pid, signal: 'SIGKILL' });
    return;
  }
  d.emit({ type: 'signal', pid, signal: 'SIGTERM' });
  d.armTimer({ kind: 'kill', id: cmd.id }, d.nowMs + graceMs);
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
  d.writeThrough(); // it runs again: acknowledged, so durable (relaunched or reported lost)
  spawnCommand(d, { ...freshStart(cmd), restarts: cmd.restarts + 1 });
  d.emit({ type: 'settle', kind: 'command-restart', id: cmd.id, reaped: 0 });
}

function noteOperatorRestart(d: Draft, cmd: CommandRec): void {
  const fields = { ws: cmd.wsId, cmd: cmd.id, label: cmd.label };
  d.event('restart', { ...fields, backoff_ms: 0, operator: true });
}

type StopInput = { graceMs: number; remove: boolean };

function noteOperatorStop(d: Draft, cmd: CommandRec, e: StopInput): void {
  const fields = { ws: cmd.wsId, cmd: cmd.id, label: cmd.label, grace_ms: e.graceMs };
  d.event(e.remove ? 'command-remove' : 'command-stop', fields);
  if (isService(cmd)) d.writeThrough();
}

function stopLive(d: Draft, cmd: CommandRec, e: StopInput): void {
  noteOperatorStop(d, cmd, e);
  stopAlive(d, cmd, e.graceMs, e.remove ? 'remove' : 'done');
}

/** A second stop: a shorter grace brings the SIGKILL forward; remove wins over stop. */
function stopStopping(d: Draft, cmd: CommandRec, e: StopInput): void {
  if (cmd.phase.kind !== 'stopping') throw new Error('stopStopping: not stopping');
  const after = e.remove ? 'remove' : cmd.phase.after === 'remove' ? 'remove' : 'done';
  noteOperatorStop(d, cmd, e);
  d.put('commands', { ...cmd, phase: { ...cmd.phase, after } });
  const key = { kind: 'kill', id: cmd.id } as const;
  const armedAtMs = d.timerAt(key);
  if (e.graceMs === 0) {
    d.cancelTimer(key);
    d.emit({ type: 'signal', pid: cmd.phase.pid, signal: 'SIGKILL' });
  } else if (armedAtMs === undefined || d.nowMs + e.graceMs < armedAtMs) {
    d.armTimer(key, d.nowMs + e.graceMs);
  }
}

/** Nothing runs: stopped at once (a remove drops the record). */
function stopDead(d: Draft, cmd: CommandRec, e: StopInput): void {
  noteOperatorStop(d, cmd, e);
  d.cancelTimer({ kind: 'restart', id: cmd.id });
  if (e.remove) {
    dropRecord(d, cmd);
    d.raise({ type: 'commands-deps', wsId: cmd.wsId });
  } else if (cmd.phase.kind === 'waiting' || cmd.phase.kind === 'backoff') {
    d.put('commands', { ...cmd, phase: { kind: 'done', reason: 'stopped' } });
    d.raise({ type: 'commands-evict', wsId: cmd.wsId });
  }
  d.emit(settleCommand(cmd, 0));
}

function quiesceAlive(d: Draft, cmd: CommandRec): void {
  d.cancelTimer({ kind: 'watchdog', id: cmd.id });
  d.cancelTimer({ kind: 'kill', id: cmd.id });
  d.cancelTimer({ kind: 'ready', id: cmd.id });
  const pid = commandPid(cmd) as number;
  d.put('commands', { ...cmd, phase: { kind: 'stopping', pid, after: 'done' } });
}

function quiesceDead(d: Draft, cmd: CommandRec): void {
  d.cancelTimer({ kind: 'restart', id: cmd.id });
  d.put('commands', { ...cmd, phase: { kind: 'done', reason: 'stopped' } });
  d.raise({ type: 'commands-evict', wsId: cmd.wsId });
}

type C<T extends CommandInput['type']> = Cell<CommandRec, Extract<CommandInput, { type: T }>>;
type Row = { [T in CommandInput['type']]: C<T> };

/** Dead: nothing runs, nothing is armed; an operator restart or stop changes it. */
const DEAD: Row = {
  spawned: 'bug',
  'spawn-failed': 'bug',
  exited: 'bug',
  notify: 'bug',
  'restart-timer': 'ignore',
  'watchdog-timer': 'ignore',
  'kill-timer': 'ignore',
  'ready-timer': 'ignore',
  'operator-restart': restartDead,
  'operator-stop': stopDead,
  quiesce: 'ignore',
  'deps-check': 'ignore',
};

const ALIVE: Row = {
  spawned: 'bug',
  'spawn-failed': 'bug',
  exited: onExited,
  notify: onNotify,
  'restart-timer': 'ignore',
  'watchdog-timer': onWatchdog,
  'kill-timer': 'ignore',
  'ready-timer': 'ignore',
  'operator-restart': restartAlive,
  'operator-stop': stopLive,
  quiesce: quiesceAlive,
  'deps-check': 'ignore',
};

export const COMMAND_TABLE: Table<CommandPhaseKind, CommandInput, CommandRec> = {
  waiting: {
    ...DEAD,
    'operator-restart': 'ignore', // it starts as soon as its dependencies are ready
    quiesce: quiesceDead,
    'deps-check': onDepsCheck,
  },
  // Spawn effects are answered within the step that asked: nothing else reaches it.
  spawning: {
    spawned: onSpawned,
    'spawn-failed': onSpawnFailed,
    exited: 'bug',
    notify: 'bug',
    'restart-timer': 'bug',
    'watchdog-timer': 'bug',
    'kill-timer': 'bug',
    'ready-timer': 'bug',
    'operator-restart': 'bug',
    'operator-stop': 'bug',
    quiesce: 'bug',
    'deps-check': 'ignore',
  },
  starting: { ...ALIVE, 'watchdog-timer': 'ignore', 'ready-timer': onReadyTimeout },
  running: ALIVE,
  stopping: {
    ...ALIVE,
    notify: 'ignore',
    'watchdog-timer': 'ignore',
    'kill-timer': onKillTimer,
    'operator-restart': restartStopping,
    'operator-stop': stopStopping,
    quiesce: (d, cmd) => {
      if (cmd.phase.kind !== 'stopping') return;
      // The workspace's stop owns the deadline now; a pending remove still drops the record.
      d.cancelTimer({ kind: 'kill', id: cmd.id });
      const after = cmd.phase.after === 'remove' ? 'remove' : 'done';
      d.put('commands', { ...cmd, phase: { ...cmd.phase, after } });
    },
  },
  backoff: {
    ...DEAD,
    'restart-timer': onRestartTimer,
    quiesce: quiesceDead,
  },
  'crash-loop': DEAD,
  done: DEAD,
};

function resolveOrRefuse(d: Draft, ref: string, cmdRef: string): CommandRec | null {
  const ws = resolveWorkspace(d.state, ref);
  if (!ws) {
    d.refuse({ code: 'not_found', message: `no workspace "${ref}"` });
    return null;
  }
  const cmd = resolveCommand(d.state, ws, cmdRef);
  if (!cmd) {
    d.refuse({ code: 'not_found', message: `no command "${cmdRef}" in "${ws.spec.label}"` });
    return null;
  }
  if (ws.phase.kind !== 'running') {
    d.refuse({ code: 'conflict', message: `workspace "${ws.spec.label}" is stopping` });
    return null;
  }
  return cmd;
}

export function onCommandRestart(d: Draft, e: Ev<'command-restart'>): void {
  const cmd = resolveOrRefuse(d, e.ref, e.cmd);
  if (cmd) deliverCommand(d, cmd.id, { type: 'operator-restart' });
}

export function onCommandStop(d: Draft, e: Ev<'command-stop'>): void {
  if (refusedGrace(d, e.graceMs)) return;
  const cmd = resolveOrRefuse(d, e.ref, e.cmd);
  if (!cmd) return;
  deliverCommand(d, cmd.id, { type: 'operator-stop', graceMs: e.graceMs, remove: e.remove });
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
