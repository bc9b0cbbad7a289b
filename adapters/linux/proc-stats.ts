/**
 * Process statistics from /proc. Parsers take strings (STYLE adapters/6); `sampleTrees`
 * does the reading: RSS from status (VmRSS), CPU from stat (utime+stime in clock ticks),
 * children from /proc/<pid>/task/<tid>/children.
 */

import { closeSync, openSync, readdirSync, readSync } from 'node:fs';
import type { ProcStats } from '../../core/ports.js';

export interface PidStat {
  pid: number;
  state: string;
  ppid: number;
  /** Process group and session ids (fields 5 and 6). */
  pgid: number;
  sid: number;
  /** utime + stime, in clock ticks. */
  cpuTicks: number;
  /** Field 22: clock ticks after boot; with the pid, names one process across pid reuse. */
  startTicks: number;
}

/** Parses /proc/<pid>/stat. The comm field may contain spaces and parentheses. */
export function parsePidStat(text: string): PidStat | null {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  const pid = Number.parseInt(text.slice(0, open), 10);
  // Fields after comm start at field 3 (state); utime is field 14, stime field 15.
  const rest = text
    .slice(close + 2)
    .trim()
    .split(/\s+/);
  const state = rest[0];
  const ppid = Number(rest[1]);
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  const startTicks = Number(rest[19]);
  if (state === undefined || !Number.isFinite(utime) || !Number.isFinite(stime)) return null;
  const pgid = Number(rest[2]);
  const sid = Number(rest[3]);
  return { pid, state, ppid, pgid, sid, cpuTicks: utime + stime, startTicks };
}

export interface PidStatus {
  rssBytes: number;
  rssPeakBytes: number;
}

/** Parses /proc/<pid>/status for VmRSS and VmHWM (kB). Kernel threads have neither: 0. */
export function parsePidStatus(text: string): PidStatus {
  const kb = (key: string): number => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB$`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : 0;
  };
  return { rssBytes: kb('VmRSS'), rssPeakBytes: kb('VmHWM') };
}

/** Parses a `children` file: space-separated pids. */
export function parseChildren(text: string): number[] {
  return text
    .split(/\s+/)
    .filter((s) => s.length > 0)
    .map(Number)
    .filter((n) => Number.isInteger(n) && n > 0);
}

/** One buffer for every read: /proc files are read whole and at once, never in parallel. */
const scratch = Buffer.allocUnsafe(16 * 1024);

/**
 * A /proc file's text, or null (the process went away between listing and reading:
 * expected). open, read until end, close, into one reused buffer: no fstat and no new
 * buffer per file, as readFileSync would (one per spawn, and one per process per scan).
 */
export function readText(path: string): string | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return null;
  }
  try {
    let text = '';
    for (;;) {
      const n = readSync(fd, scratch, 0, scratch.length, null);
      if (n <= 0) return text;
      text += scratch.toString('latin1', 0, n);
    }
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

/** The children of `pid` (every thread's `children` file). */
export function childrenOf(pid: number): number[] {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const tid of tids) {
    const text = readText(`/proc/${pid}/task/${tid}/children`);
    if (text) out.push(...parseChildren(text));
  }
  return out;
}

/** Sums over the process trees rooted at `pids` (roots included, zombies excluded). */
export function sampleTrees(pids: number[], clkTck: number): ProcStats {
  const seen = new Set<number>();
  const queue = [...pids];
  let alive = 0;
  let rssBytes = 0;
  let cpuTicks = 0;
  while (queue.length > 0) {
    const pid = queue.pop()!;
    if (seen.has(pid) || !(pid > 0)) continue;
    seen.add(pid);
    const statText = readText(`/proc/${pid}/stat`);
    const stat = statText ? parsePidStat(statText) : null;
    if (!stat || stat.state === 'Z' || stat.state === 'X') continue;
    alive++;
    cpuTicks += stat.cpuTicks;
    const statusText = readText(`/proc/${pid}/status`);
    if (statusText) rssBytes += parsePidStatus(statusText).rssBytes;
    queue.push(...childrenOf(pid));
  }
  return { alive, rssBytes, cpuUs: Math.round((cpuTicks * 1_000_000) / clkTck) };
}
