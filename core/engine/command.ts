/** Command handlers: run, spawn results, exit → restart decision, timers, notify. */

import type { RestartPolicy } from '../manifest/types.js';
import {
  defaultCrashLoopPolicy,
  defaultRestartPolicy,
  freshTally,
  GIVE_UP_MESSAGE,
} from '../policy/index.js';
import type { ProcRequest } from '../ports.js';
import type { CommandState, ExitStatus } from './api.js';
import { commandOf, type Draft, resolveCommand, resolveWorkspace, workspaceOf } from './draft.js';
import type { CommandRec, EngineEvent, WorkspaceRec } from './model.js';
import { exitStatus } from './signals.js';
import { ensureSampling } from './stats.js';
import { noteWorkspaceDeath } from './workspace.js';

type Ev<T extends EngineEvent['type']> = Extract<EngineEvent, { type: T }>;

export const OPERATOR_RESTART_GRACE_MS = 1000;

export function commandPolicy(cmd: CommandRec): RestartPolicy {
  return defaultRestartPolicy(cmd.spec.restartOnFailure);
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
  if (ws.state !== 'running') {
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
    pid: null,
    state: 'starting',
    exit: null,
    restarts: 0,
    tally: freshTally(defaultRestartPolicy(e.spec.restartOnFailure)),
    deathsMs: [],
    startedAtMs: d.nowMs,
    startedAtWallMs: 0,
    lastStartMs: null,
    stopping: false,
    respawn: false,
    spawns: 0,
    delayMs: 0,
  };
  d.put('commands', cmd);
  d.put('workspaces', { ...ws, commandIds: [...ws.commandIds, cmd.id] });
  spawnCommand(d, cmd.id);
}

export function spawnCommand(d: Draft, cmdId: string): void {
  const cmd = commandOf(d.state, cmdId);
  if (cmd.pid !== null) throw new Error(`spawnCommand: ${cmdId} is already alive`);
  const ws = workspaceOf(d.state, cmd.wsId);
  const req: ProcRequest = {
    exec: cmd.spec.exec,
    argv: cmd.spec.argv,
    envp: cmd.spec.envp,
    cwd: cmd.spec.cwd,
    envelope: ws.envelope,
    notify: cmd.spec.ready === 'notify' || cmd.spec.watchdogMs > 0,
  };
  d.put('commands', { ...cmd, state: 'starting', lastStartMs: d.nowMs, stopping: false });
  d.emit({ type: 'spawn', cmdId, key: cmd.id, req });
}

export function onSpawned(d: Draft, e: Ev<'spawned'>): void {
  const cmd = commandOf(d.state, e.cmdId);
  if (d.state.pids.has(e.pid)) throw new Error(`onSpawned: pid ${e.pid} already owned`);
  const state: CommandState = cmd.spec.ready === 'notify' ? 'starting' : 'running';
  const started = {
    pid: e.pid,
    state,
    exit: null,
    startedAtMs: d.nowMs,
    startedAtWallMs: e.wallMs,
  };
  d.put('commands', { ...cmd, ...started, spawns: cmd.spawns + 1 });
  d.setPid(e.pid, { kind: 'command', id: cmd.id });
  const fields = {
    ws: cmd.wsId,
    cmd: cmd.id,
    label: cmd.label,
    pid: e.pid,
    restarts: cmd.restarts,
  };
  d.event('run', fields);
  // contract §4: no WATCHDOG=1 within watchdog_ms of the start → killed. The clock runs from
  // exec (not from READY=1), so a start-up that hangs before READY=1 is caught too.
  armWatchdog(d, cmd.id);
  ensureSampling(d);
}

export function onSpawnFailed(d: Draft, e: Ev<'spawn-failed'>): void {
  const cmd = commandOf(d.state, e.cmdId);
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

export function onCommandExited(
  d: Draft,
  cmdId: string,
  code: number | null,
  signal: string | null,
): void {
  const cmd = commandOf(d.state, cmdId);
  if (cmd.pid === null) throw new Error(`onCommandExited: ${cmdId} was not alive`);
  const exit = exitStatus(code, signal);
  d.deletePid(cmd.pid);
  d.cancelTimer(`watchdog:${cmd.id}`);
  d.cancelTimer(`kill:${cmd.id}`);
  const death = deathFields(exit);
  const fields = { ws: cmd.wsId, cmd: cmd.id, label: cmd.label, pid: cmd.pid, ...death };
  d.event('exit', { ...fields, status: exit.status });
  const ws = workspaceOf(d.state, cmd.wsId);
  if (signal === 'SIGKILL' && !cmd.stopping && ws.state === 'running') {
    noteKilled(d, ws, cmd.id);
  }
  const dead: CommandRec = { ...cmd, pid: null, exit };
  d.put('commands', dead);
  afterDeath(d, dead, exit, d.nowMs - cmd.startedAtMs);
  noteWorkspaceDeath(d, cmd.wsId);
}

/** A SIGKILL nobody here sent may be the kernel's OOM killer: sample the cgroup now. */
function noteKilled(d: Draft, ws: WorkspaceRec, cmdId: string): void {
  d.put('workspaces', { ...ws, lastKilledCmd: cmdId });
  if (ws.envelope.cgroup) {
    const cgroup = ws.envelope.cgroup;
    d.emit({ type: 'sample', wsId: ws.id, pids: [], cgroup, atMs: d.nowMs });
  }
}

function afterDeath(d: Draft, cmd: CommandRec, exit: ExitStatus, runMs: number): void {
  if (cmd.respawn) {
    const fresh = freshTally(commandPolicy(cmd));
    d.put('commands', {
      ...cmd,
      respawn: false,
      tally: fresh,
      deathsMs: [],
      restarts: cmd.restarts + 1,
    });
    spawnCommand(d, cmd.id);
    return;
  }
  const ws = workspaceOf(d.state, cmd.wsId);
  const stopping = cmd.stopping || ws.state !== 'running';
  const decision = d.policy.decideRestart(commandPolicy(cmd), exit, cmd.tally, runMs, stopping);
  const base = { ws: cmd.wsId, cmd: cmd.id, label: cmd.label };
  if (decision.kind === 'done') {
    d.put('commands', { ...cmd, state: 'exited' });
    evictDead(d, cmd.wsId);
    return;
  }
  if (decision.kind === 'give-up') {
    d.put('commands', { ...cmd, state: 'gave-up' });
    d.event('give-up', { ...base, restarts: cmd.restarts, message: GIVE_UP_MESSAGE });
    evictDead(d, cmd.wsId);
    return;
  }
  const guard = d.policy.recordDeath(cmd.deathsMs, d.nowMs, defaultCrashLoopPolicy());
  if (guard.crashLoop) {
    d.put('commands', { ...cmd, state: 'crash-loop', deathsMs: guard.deathsMs });
    d.event('crash-loop', { ...base, deaths: guard.deathsMs.length, restarts: cmd.restarts });
    evictDead(d, cmd.wsId);
    return;
  }
  const atMs = d.policy.throttleStartMs(cmd.lastStartMs, d.nowMs + decision.delayMs);
  const next = { state: 'backoff' as const, tally: decision.tally, deathsMs: guard.deathsMs };
  d.put('commands', { ...cmd, ...next, delayMs: atMs - d.nowMs });
  d.armTimer(`restart:${cmd.id}`, atMs);
  d.event('restart', { ...base, backoff_ms: atMs - d.nowMs, restarts: cmd.restarts + 1 });
}

export function onRestartTimer(d: Draft, cmdId: string): void {
  const cmd = d.state.commands.get(cmdId);
  if (cmd?.state !== 'backoff' || cmd.stopping) return;
  d.put('commands', { ...cmd, restarts: cmd.restarts + 1 });
  spawnCommand(d, cmdId);
}

export function onWatchdog(d: Draft, cmdId: string): void {
  const cmd = d.state.commands.get(cmdId);
  if (!cmd || cmd.pid === null || cmd.stopping) return;
  const fields = { ws: cmd.wsId, cmd: cmd.id, label: cmd.label, pid: cmd.pid };
  d.event('watchdog', { ...fields, watchdog_ms: cmd.spec.watchdogMs });
  d.emit({ type: 'signal', pid: cmd.pid, signal: 'SIGKILL' });
}

export function onKillTimer(d: Draft, cmdId: string): void {
  const cmd = d.state.commands.get(cmdId);
  if (cmd?.pid != null) d.emit({ type: 'signal', pid: cmd.pid, signal: 'SIGKILL' });
}

export function onCommandNotify(d: Draft, cmdId: string, message: string): void {
  const cmd = commandOf(d.state, cmdId);
  if (cmd.pid === null) throw new Error(`onCommandNotify: ${cmdId} is not alive`);
  const lines = message.split('\n').map((l) => l.trim());
  const ready = lines.includes('READY=1') && cmd.state === 'starting';
  if (ready) {
    d.put('commands', { ...cmd, state: 'running' });
    d.event('ready', { ws: cmd.wsId, cmd: cmd.id, label: cmd.label, pid: cmd.pid });
  }
  if (lines.includes('WATCHDOG=1')) armWatchdog(d, cmd.id);
}

function armWatchdog(d: Draft, cmdId: string): void {
  const cmd = commandOf(d.state, cmdId);
  if (cmd.spec.watchdogMs > 0) d.armTimer(`watchdog:${cmdId}`, d.nowMs + cmd.spec.watchdogMs);
}

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
  if (ws.state !== 'running') {
    d.refuse({ code: 'conflict', message: `workspace "${ws.spec.label}" is stopping` });
    return;
  }
  d.event('restart', { ws: ws.id, cmd: cmd.id, label: cmd.label, backoff_ms: 0, operator: true });
  if (cmd.pid !== null) {
    if (cmd.respawn) return;
    d.put('commands', { ...cmd, respawn: true, stopping: true });
    d.emit({ type: 'signal', pid: cmd.pid, signal: 'SIGTERM' });
    d.armTimer(`kill:${cmd.id}`, d.nowMs + OPERATOR_RESTART_GRACE_MS);
    return;
  }
  d.cancelTimer(`restart:${cmd.id}`);
  const fresh = freshTally(commandPolicy(cmd));
  d.put('commands', { ...cmd, tally: fresh, deathsMs: [], restarts: cmd.restarts + 1 });
  spawnCommand(d, cmd.id);
}

/** Dead command records are bounded per workspace: the oldest dead ones go first. */
export function evictDead(d: Draft, wsId: string): void {
  const ws = workspaceOf(d.state, wsId);
  const dead = ws.commandIds.filter((id) => {
    const cmd = d.state.commands.get(id);
    return cmd !== undefined && cmd.pid === null && cmd.state !== 'backoff';
  });
  const excess = dead.length - d.state.options.deadCommandsMax;
  if (excess <= 0) return;
  const evicted = new Set(dead.slice(0, excess));
  for (const id of evicted) {
    d.cancelTimer(`restart:${id}`);
    d.delete('commands', id);
    d.emit({ type: 'release', key: id });
  }
  d.put('workspaces', { ...ws, commandIds: ws.commandIds.filter((id) => !evicted.has(id)) });
}

/** `signal=SIGKILL` or `code=3`, for exit events. */
export function deathFields(exit: ExitStatus): Record<string, string | number> {
  return exit.signal !== null ? { signal: exit.signal } : { code: exit.code ?? 0 };
}
