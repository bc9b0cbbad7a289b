/**
 * Killing everything in a cgroup. v2 (5.14+): one write to cgroup.kill. Older v2 and v1:
 * freeze (v1 freezer.state / v2 cgroup.freeze) so nothing forks meanwhile, SIGKILL every
 * pid in cgroup.procs, thaw, and repeat until empty (bounded).
 */

import type { PortResult } from '../../../core/ports.js';
import { readText, writeText } from './fsio.js';
import { parseControllers } from './parse.js';
import type { Placement } from './placement.js';

const ROUNDS_MAX = 20;

function procsOf(dir: string): number[] {
  return parseControllers(readText(`${dir}/cgroup.procs`) ?? '').map(Number);
}

function freeze(p: Placement, on: boolean): void {
  if (p.version === 'v2' && p.unified) {
    if (readText(`${p.unified}/cgroup.freeze`) !== null) {
      writeText('kill', `${p.unified}/cgroup.freeze`, on ? '1' : '0');
    }
  } else if (p.v1.freezer) {
    writeText('kill', `${p.v1.freezer}/freezer.state`, on ? 'FROZEN' : 'THAWED');
  }
}

export function killPlacement(
  p: Placement,
  sleepMs: (ms: number) => void,
): PortResult<{ killed: number }> {
  const dir = p.version === 'v2' ? p.unified : (p.v1.freezer ?? p.v1.pids ?? p.v1.memory ?? null);
  if (!dir) return { ok: true, value: { killed: 0 } };
  const first = procsOf(dir);
  if (p.version === 'v2' && readText(`${dir}/cgroup.kill`) !== null) {
    const r = writeText('kill', `${dir}/cgroup.kill`, '1');
    return r.ok ? { ok: true, value: { killed: first.length } } : r;
  }
  const killed = new Set<number>();
  for (let round = 0; round < ROUNDS_MAX; round++) {
    const pids = procsOf(dir);
    if (pids.length === 0) break;
    freeze(p, true);
    for (const pid of procsOf(dir)) {
      try {
        process.kill(pid, 'SIGKILL');
        killed.add(pid);
      } catch {
        // ESRCH: it exited on its own meanwhile
      }
    }
    freeze(p, false); // a frozen task dies only once thawed
    sleepMs(5);
  }
  return { ok: true, value: { killed: killed.size } };
}
