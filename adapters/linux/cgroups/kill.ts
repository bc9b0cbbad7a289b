/**
 * Killing everything in a cgroup. v2 (5.14+): one write to cgroup.kill. Older v2 and v1:
 * one round per call — freeze (v1 freezer.state / v2 cgroup.freeze) so nothing forks
 * meanwhile, SIGKILL every pid in cgroup.procs, thaw — never a wait: while processes are
 * still listed the call answers Busy as a value, and the engine calls again on a timer.
 */

import type { PortError, PortResult } from '../../../core/ports.js';
import { readText, writeText } from './fsio.js';
import { parseControllers } from './parse.js';
import type { Placement } from './placement.js';

/** Busy, as a value: processes are still in `dir` (they are exiting, or were just forked). */
export function busy(method: string, dir: string, count: number): PortResult<never> {
  const error: PortError = {
    _tag: 'PortError',
    port: 'Cgroups',
    method,
    reason: 'Busy',
    message: `${dir}: ${count} process(es) still in the cgroup; try again shortly`,
    path: dir,
  };
  return { ok: false, error };
}

export function procsOf(dir: string): number[] {
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

export function killPlacement(p: Placement): PortResult<{ killed: number }> {
  const dir = p.version === 'v2' ? p.unified : (p.v1.freezer ?? p.v1.pids ?? p.v1.memory ?? null);
  if (!dir) return { ok: true, value: { killed: 0 } };
  const first = procsOf(dir);
  if (p.version === 'v2' && readText(`${dir}/cgroup.kill`) !== null) {
    const r = writeText('kill', `${dir}/cgroup.kill`, '1');
    return r.ok ? { ok: true, value: { killed: first.length } } : r;
  }
  if (first.length === 0) return { ok: true, value: { killed: 0 } };
  freeze(p, true);
  let killed = 0;
  for (const pid of procsOf(dir)) {
    try {
      process.kill(pid, 'SIGKILL');
      killed++;
    } catch {
      // ESRCH: it exited on its own meanwhile
    }
  }
  freeze(p, false); // a frozen task dies only once thawed
  const left = procsOf(dir).length;
  return left === 0 ? { ok: true, value: { killed } } : busy('kill', dir, left);
}
