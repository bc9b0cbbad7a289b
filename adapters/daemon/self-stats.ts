/** The daemon's own process metrics, from /proc/self and Node (for /metrics). */

import { readdirSync, readFileSync } from 'node:fs';
import type { ProcessStats } from '../control/types.js';

function vmBytes(status: string, key: string): number {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB$`, 'm').exec(status);
  return m ? Number(m[1]) * 1024 : 0;
}

function maxOpenFiles(): number {
  try {
    const limits = readFileSync('/proc/self/limits', 'utf8');
    const m = /^Max open files\s+(\d+)/m.exec(limits);
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

export function selfStats(wallMs: number): ProcessStats {
  let status = '';
  try {
    status = readFileSync('/proc/self/status', 'utf8');
  } catch {
    // not Linux: zeros below
  }
  let openFds = 0;
  try {
    openFds = readdirSync('/proc/self/fd').length;
  } catch {
    openFds = 0;
  }
  const cpu = process.cpuUsage();
  return {
    residentMemoryBytes: vmBytes(status, 'VmRSS') || process.memoryUsage.rss(),
    virtualMemoryBytes: vmBytes(status, 'VmSize'),
    cpuSeconds: (cpu.user + cpu.system) / 1_000_000,
    openFds,
    maxFds: maxOpenFiles(),
    startTimeSeconds: Math.round(wallMs / 1000 - process.uptime()),
  };
}
