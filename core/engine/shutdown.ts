/**
 * The daemon's own stop: every child gets SIGTERM, SIGKILL after the grace; the shutdown
 * settles when nothing is left (or, if something survives SIGKILL, `KILL_WAIT_MS` later).
 * Nothing restarts meanwhile (backoffs are cancelled, deaths are final). The intent on disk
 * is not changed by it (the shell flushed before and writes nothing after).
 */

import type { Draft } from './draft.js';
import { refusedGrace } from './grace.js';
import type { EngineEvent, ShutdownState } from './model.js';

/** How long the shutdown waits for the children it SIGKILLed before it settles anyway. */
export const KILL_WAIT_MS = 1000;

export function onDaemonShutdown(d: Draft, e: Extract<EngineEvent, { type: 'daemon-shutdown' }>) {
  if (refusedGrace(d, e.graceMs)) return;
  if (d.state.shutdown) return; // one shutdown; the shell answers every caller with it
  const shutdown: ShutdownState = { graceMs: e.graceMs, reaped: 0, killed: false, settled: false };
  d.state = { ...d.state, shutdown };
  const pids = [...d.state.pids.keys()];
  d.event('daemon-shutdown', { grace_ms: e.graceMs, alive: pids.length });
  // What waits in backoff never starts again; what is alive keeps its watchdog, and its
  // death is final (the restart decision sees `shutdown`).
  // An operator restart in progress (stopping, then respawn) ends instead.
  for (const cmd of d.state.commands.values()) {
    const kind = cmd.phase.kind;
    if (kind === 'backoff' || kind === 'stopping')
      d.raise({ type: 'command-quiesce', cmdId: cmd.id });
  }
  for (const p of d.state.pipelines.values()) {
    if (p.phase.kind === 'backoff') d.raise({ type: 'pipeline-quiesce', id: p.id });
  }
  if (pids.length === 0) {
    settle(d);
    return;
  }
  if (e.graceMs === 0) {
    killAll(d);
    return;
  }
  for (const pid of pids) d.emit({ type: 'signal', pid, signal: 'SIGTERM' });
  d.armTimer({ kind: 'shutdown-grace' }, d.nowMs + e.graceMs);
}

function killAll(d: Draft): void {
  const shutdown = d.state.shutdown as ShutdownState;
  for (const pid of d.state.pids.keys()) d.emit({ type: 'signal', pid, signal: 'SIGKILL' });
  d.state = { ...d.state, shutdown: { ...shutdown, killed: true } };
  d.armTimer({ kind: 'shutdown-grace' }, d.nowMs + KILL_WAIT_MS);
}

export function onShutdownGrace(d: Draft): void {
  const shutdown = d.state.shutdown;
  if (!shutdown || shutdown.settled) return;
  if (!shutdown.killed) {
    killAll(d);
    return;
  }
  d.event('daemon-shutdown-abandoned', { alive: d.state.pids.size });
  settle(d);
}

/** A child died: count it; the last one settles the shutdown. */
export function onShutdownReaped(d: Draft): void {
  const shutdown = d.state.shutdown;
  if (!shutdown || shutdown.settled) return;
  d.state = { ...d.state, shutdown: { ...shutdown, reaped: shutdown.reaped + 1 } };
  if (d.state.pids.size === 0) settle(d);
}

function settle(d: Draft): void {
  const shutdown = d.state.shutdown as ShutdownState;
  d.state = { ...d.state, shutdown: { ...shutdown, settled: true } };
  d.cancelTimer({ kind: 'shutdown-grace' });
  d.emit({ type: 'settle', kind: 'daemon', id: '', reaped: shutdown.reaped });
}
