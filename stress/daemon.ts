/**
 * One daemon per attack: its own temp dir (socket, state, log), `SHIPOTE_CGROUPS=off`,
 * started from the TypeScript sources under tsx, stopped by its pid at the end.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { call, healthy } from './http.js';

const entry = fileURLToPath(new URL('./daemon-entry.ts', import.meta.url));

export interface StressDaemon {
  dir: string;
  socket: string;
  state: string;
  child: ChildProcess;
  /** Set when the daemon died without being asked to (a crash). */
  crashed: string | null;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function newDir(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `shipote-stress-${name}-`));
  mkdirSync(join(dir, 'run'), { mode: 0o700 });
  return dir;
}

/** Starts a daemon with its files under `dir` and waits until health answers. */
export async function startDaemon(dir: string, statePath?: string): Promise<StressDaemon> {
  const socket = join(dir, 'run', 'shipote.sock');
  const state = statePath ?? join(dir, 'state', 'state.json');
  const log = openSync(join(dir, 'daemon.log'), 'a');
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', entry, '--socket', socket, '--state', state],
    {
      env: { ...process.env, SHIPOTE_CGROUPS: 'off', SHIPOTE_NO_AUTOSTART: '1', NOTIFY_SOCKET: '' },
      stdio: ['ignore', log, log],
    },
  );
  const d: StressDaemon = { dir, socket, state, child, crashed: null };
  child.once('exit', (code, signal) => {
    if (!(child as { stopping?: boolean }).stopping) d.crashed = `exit ${code ?? signal}`;
  });
  const until = Date.now() + 30_000;
  while (Date.now() < until) {
    if (d.crashed) break;
    if (await healthy(socket, 1000)) return d;
    await sleep(50);
  }
  throw new Error(`daemon did not answer (${d.crashed ?? 'timeout'}); log:\n${daemonLog(d)}`);
}

export function daemonLog(d: { dir: string }): string {
  try {
    return readFileSync(join(d.dir, 'daemon.log'), 'utf8').slice(-4000);
  } catch {
    return '';
  }
}

/** SIGKILL now (the kill -9 loop); not counted as a crash. */
export async function killHard(d: StressDaemon): Promise<void> {
  (d.child as { stopping?: boolean }).stopping = true;
  const exited = new Promise((r) => d.child.once('exit', r));
  if (d.child.exitCode === null && d.child.signalCode === null) d.child.kill('SIGKILL');
  await exited;
}

/** SIGTERM, then SIGKILL after 5 s; by pid, this daemon only. */
export async function stopDaemon(d: StressDaemon): Promise<void> {
  if (d.child.exitCode !== null || d.child.signalCode !== null) return;
  (d.child as { stopping?: boolean }).stopping = true;
  const exited = new Promise((r) => d.child.once('exit', r));
  d.child.kill('SIGTERM');
  const timer = setTimeout(() => d.child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Resident set of a process in bytes (0 when it is gone). */
export function rssBytes(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
    return kb === undefined ? 0 : Number(kb) * 1024;
  } catch {
    return 0;
  }
}

/** The daemon's longest event-loop delay so far, in ms, from /metrics (-1 if unknown). */
export async function loopDelayMaxMs(socket: string): Promise<number> {
  const a = await call(socket, 'GET', '/metrics');
  const m = /^shipote_event_loop_delay_max_seconds ([0-9.e+-]+)$/m.exec(a.body);
  return m?.[1] === undefined ? -1 : Math.round(Number(m[1]) * 1000);
}

/** Samples RSS every `everyMs` until stopped; returns the peak. */
export function rssSampler(pid: number | undefined, everyMs = 100) {
  let peak = rssBytes(pid);
  const timer = setInterval(() => {
    peak = Math.max(peak, rssBytes(pid));
  }, everyMs);
  return {
    peak: () => Math.max(peak, rssBytes(pid)),
    stop: () => clearInterval(timer),
  };
}
