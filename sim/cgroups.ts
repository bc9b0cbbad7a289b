/**
 * SimCgroups — virtual cgroups behind the `Cgroups` port, sharing the SimKernel's
 * process table.
 *
 * Fault model:
 * - Capabilities drawn from the seed: v2 delegated (memory + pids), v1, or none; when not
 *   delegated `create` is refused (PermissionDenied) and the engine must fall back to
 *   accounting from /proc with a warning. Survivable by design (contract §1 degradations).
 * - `cgroup-create-fail`: mkdir fails with EBUSY. Survivable: the workspace runs without
 *   a cgroup, like the non-delegated case.
 * - Kernel enforcement, not a fault but a hazard for the engine: memory over the limit
 *   OOM-kills the biggest process (oom_kill counter); a fork or spawn over the pids limit
 *   fails with EAGAIN.
 */

import type {
  CgroupCaps,
  CgroupLimits,
  CgroupStats,
  Cgroups,
  PortError,
  PortResult,
} from '../core/ports.js';
import type { Faults } from './faults.js';
import type { CgroupGate, SimKernel, SimProc } from './kernel.js';
import type { Prng } from './prng.js';
import type { Trace } from './trace.js';

interface SimCgroup {
  handle: string;
  limits: CgroupLimits;
  memPeakBytes: number;
  oomKills: number;
}

const ROOT = '/sys/fs/cgroup/sim.slice/shipote.service';

function cgError(
  method: string,
  reason: PortError['reason'],
  message: string,
  errno: number,
): PortError {
  return { _tag: 'PortError', port: 'Cgroups', method, reason, message, errno };
}

export function drawCaps(prng: Prng): CgroupCaps {
  const kind = prng.int(3);
  if (kind === 0) {
    return {
      version: 'v2',
      delegated: true,
      controllers: ['cpu', 'memory', 'pids'],
      writable: true,
      userNamespaces: true,
      pidfd: true,
      cloneIntoCgroup: true,
      root: ROOT,
      reasons: [],
    };
  }
  if (kind === 1) {
    return {
      version: 'v1',
      delegated: false,
      controllers: ['memory', 'pids'],
      writable: false,
      userNamespaces: prng.boolean(),
      pidfd: true,
      cloneIntoCgroup: false,
      root: ROOT,
      reasons: ['cgroup v1 hierarchy is not writable by the daemon'],
    };
  }
  return {
    version: 'none',
    delegated: false,
    controllers: [],
    writable: false,
    userNamespaces: false,
    pidfd: false,
    cloneIntoCgroup: false,
    root: null,
    reasons: ['no cgroup filesystem mounted'],
  };
}

export class SimCgroups implements Cgroups, CgroupGate {
  private readonly groups = new Map<string, SimCgroup>();
  /** Successful creates, by daemon generation, ordered against kernel records by `seq`. */
  readonly created: { gen: number; relPath: string; handle: string; seq: number }[] = [];

  constructor(
    private readonly kernel: SimKernel,
    private readonly capabilities: CgroupCaps,
    private readonly faults: Faults,
    private readonly trace: Trace,
  ) {
    kernel.attachCgroups(this);
  }

  /** A copy (the engine may keep it): its two lists copied, the rest plain values. */
  caps(): CgroupCaps {
    const c = this.capabilities;
    return { ...c, controllers: [...c.controllers], reasons: [...c.reasons] };
  }

  /** The `Cgroups` port as daemon generation `gen` sees it. */
  port(gen: number): Cgroups {
    return {
      caps: () => this.caps(),
      create: (relPath, limits) => {
        const result = this.create(relPath, limits);
        if (result.ok) {
          const entry = { gen, relPath, handle: result.value.handle, seq: this.kernel.seq };
          this.created.push(entry);
        }
        return result;
      },
      stats: (handle) => this.stats(handle),
      kill: (handle) => this.kill(handle),
      remove: (handle) => this.remove(handle),
    };
  }

  create(relPath: string, limits: CgroupLimits): PortResult<{ handle: string }> {
    if (relPath === '' || relPath.startsWith('/') || relPath.split('/').includes('..')) {
      return { ok: false, error: cgError('create', 'InvalidArgument', `bad path ${relPath}`, 22) };
    }
    if (!this.capabilities.delegated) {
      const message = `mkdir ${relPath}: Permission denied`;
      return { ok: false, error: cgError('create', 'PermissionDenied', message, 13) };
    }
    if (this.faults.roll('cgroup-create-fail')) {
      this.trace.add(() => `fault cgroup-create-fail ${relPath}`);
      return { ok: false, error: cgError('create', 'Busy', `mkdir ${relPath}: busy`, 16) };
    }
    const handle = `${ROOT}/${relPath}`;
    const existing = this.groups.get(handle);
    if (existing !== undefined) existing.limits = { ...limits };
    else this.groups.set(handle, { handle, limits: { ...limits }, memPeakBytes: 0, oomKills: 0 });
    this.trace.add(() => `cgroup create ${relPath} mem=${limits.memBytes} pids=${limits.pids}`);
    return { ok: true, value: { handle } };
  }

  stats(handle: string): PortResult<CgroupStats> {
    const group = this.groups.get(handle);
    if (group === undefined) return { ok: false, error: this.missing('stats', handle) };
    const members = this.members(handle);
    let memBytes = 0;
    let cpuUs = 0;
    let pids = 0;
    for (const p of members) {
      cpuUs += this.kernel.cpuUs(p);
      if (!p.alive) continue;
      memBytes += this.kernel.rssBytes(p);
      pids += 1;
    }
    group.memPeakBytes = Math.max(group.memPeakBytes, memBytes);
    const memPeakBytes = group.memPeakBytes;
    return { ok: true, value: { memBytes, memPeakBytes, cpuUs, pids, oomKills: group.oomKills } };
  }

  kill(handle: string): PortResult<{ killed: number }> {
    if (!this.groups.has(handle)) return { ok: false, error: this.missing('kill', handle) };
    if (this.busyFault('kill', handle)) {
      return { ok: false, error: cgError('kill', 'Busy', `cgroup.kill ${handle}: busy`, 16) };
    }
    let killed = 0;
    for (const p of this.members(handle)) {
      if (!p.alive) continue;
      this.kernel.kill(p.pid, false);
      killed += 1;
    }
    return { ok: true, value: { killed } };
  }

  /** The adapter answers Busy instead of blocking: the engine must try again later. */
  private busyFault(op: string, handle: string): boolean {
    if (!this.faults.roll('cgroup-busy')) return false;
    this.trace.add(() => `fault cgroup-busy ${op} ${handle}`);
    return true;
  }

  remove(handle: string): PortResult<true> {
    if (!this.groups.has(handle)) return { ok: false, error: this.missing('remove', handle) };
    if (this.busyFault('remove', handle)) {
      return { ok: false, error: cgError('remove', 'Busy', `rmdir ${handle}: busy`, 16) };
    }
    if (this.members(handle).some((p) => p.alive)) {
      return { ok: false, error: cgError('remove', 'Busy', `rmdir ${handle}: busy`, 16) };
    }
    this.groups.delete(handle);
    this.kernel.byCgroup.delete(handle);
    this.trace.add(() => `cgroup remove ${handle}`);
    return { ok: true, value: true };
  }

  /** Kernel side: may `count` more processes join `handle`? (pids.max) */
  admit(handle: string, count: number): PortError | null {
    const group = this.groups.get(handle);
    if (group === undefined) return this.missing('spawn', handle);
    if (group.limits.pids === 0) return null;
    const alive = this.members(handle).filter((p) => p.alive).length;
    if (alive + count <= group.limits.pids) return null;
    return cgError('spawn', 'Busy', 'fork: Resource temporarily unavailable (pids.max)', 11);
  }

  /** Kernel side: OOM-kill the biggest process of every cgroup over its memory limit. */
  enforceMemory(): void {
    for (const group of this.groups.values()) {
      if (group.limits.memBytes === 0) continue;
      // Runs every growth tick: loops, no lists, until a kill is due.
      for (;;) {
        let total = 0;
        /** The first of the largest live members. */
        let biggest: SimProc | null = null;
        let biggestBytes = 0;
        for (const p of this.members(group.handle)) {
          if (!p.alive) continue;
          const rssBytes = this.kernel.rssBytes(p);
          total += rssBytes;
          if (biggest === null || rssBytes > biggestBytes) {
            biggest = p;
            biggestBytes = rssBytes;
          }
        }
        group.memPeakBytes = Math.max(group.memPeakBytes, Math.min(total, group.limits.memBytes));
        if (total <= group.limits.memBytes || biggest === null) break;
        group.oomKills += 1;
        this.kernel.kill(biggest.pid, true);
      }
    }
  }

  totalOomKills(): number {
    let n = 0;
    for (const group of this.groups.values()) n += group.oomKills;
    return n;
  }

  private members(handle: string): SimProc[] {
    return this.kernel.byCgroup.get(handle) ?? [];
  }

  private missing(method: string, handle: string): PortError {
    return cgError(method, 'NotFound', `${handle}: No such file or directory`, 2);
  }
}
