/**
 * The Cgroups port over cgroupfs (v2, v1 and hybrid). TypeScript over the file system;
 * limits are applied by one module per controller in a fixed order.
 */

import { accessSync, constants as fsc, mkdirSync, rmdirSync } from 'node:fs';
import { release } from 'node:os';
import { checkCgroupPath } from '../../../core/manifest/cgroup.js';
import type {
  CgroupCaps,
  CgroupLimits,
  CgroupStats,
  Cgroups,
  PortError,
  PortResult,
} from '../../../core/ports.js';
import { loadAddon } from '../addon.js';
import * as cpu from './cpu.js';
import { cgroupError, readText, writeText } from './fsio.js';
import { dirsOf, handleOf } from './handle.js';
import { busy, killPlacement, procsOf } from './kill.js';
import { childPlacement, computeLayout, type Layout, placementFromDirs } from './layout.js';
import * as memory from './memory.js';
import { parseControllers } from './parse.js';
import * as pids from './pids.js';
import { type Placement, placementDirs } from './placement.js';

export interface LinuxCgroupsOptions {
  /** The daemon's own cgroup dir (v2) or memory-hierarchy dir (v1); default: detected. */
  root?: string;
  /** /proc/self/mountinfo content; default: read. */
  mountinfo?: string;
  /** /proc/self/cgroup content; default: read. */
  procSelfCgroup?: string;
}

const WANTED = ['memory', 'pids'];

function writable(path: string): boolean {
  try {
    accessSync(path, fsc.W_OK);
    return true;
  } catch {
    return false;
  }
}

function kernelAtLeast(major: number, minor: number): boolean {
  const m = /^(\d+)\.(\d+)/.exec(release());
  if (!m) return false;
  const [maj, min] = [Number(m[1]), Number(m[2])];
  return maj > major || (maj === major && min >= minor);
}

/** The manifest's cgroup path rule (one rule, in the core), plus: a cgroup needs a path. */
export function invalidPath(relPath: string): string | null {
  if (relPath === '') return 'cgroup path must not be empty';
  const issue = checkCgroupPath(relPath);
  return issue === null ? null : `cgroup path ${issue.message}`;
}

export class LinuxCgroups implements Cgroups {
  readonly layout: Layout;

  constructor(opts: LinuxCgroupsOptions = {}) {
    const mountinfo = opts.mountinfo ?? readText('/proc/self/mountinfo') ?? '';
    const procSelf = opts.procSelfCgroup ?? readText('/proc/self/cgroup') ?? '';
    this.layout = computeLayout(mountinfo, procSelf, opts.root);
  }

  controllers(): string[] {
    const own = this.layout.own;
    if (!own) return [];
    if (own.version === 'v2') {
      return parseControllers(readText(`${own.unified}/cgroup.controllers`) ?? '');
    }
    return Object.entries(own.v1)
      .filter(([, dir]) => readText(`${dir}/cgroup.procs`) !== null)
      .map(([c]) => c);
  }

  caps(): CgroupCaps {
    const own = this.layout.own;
    const reasons: string[] = [];
    const controllers = this.controllers();
    const dirs = own ? placementDirs(own) : [];
    let isWritable = dirs.length > 0;
    for (const d of dirs) {
      const files =
        own?.version === 'v2' ? [d, `${d}/cgroup.subtree_control`, `${d}/cgroup.procs`] : [d];
      if (!files.every(writable)) {
        isWritable = false;
        reasons.push(`cgroup directory not writable: ${d}`);
      }
    }
    if (!own) reasons.push('no cgroup filesystem mounted');
    for (const c of WANTED)
      if (own && !controllers.includes(c)) reasons.push(`${c} controller not available`);
    let probe = { pidfd: false, clone3: false };
    try {
      probe = loadAddon().probe();
    } catch {
      reasons.push('native addon not built');
    }
    const maxUserNs = Number((readText('/proc/sys/user/max_user_namespaces') ?? '0').trim());
    return {
      version: this.layout.version,
      delegated: isWritable && WANTED.every((c) => controllers.includes(c)),
      controllers,
      writable: isWritable,
      userNamespaces: maxUserNs > 0,
      pidfd: probe.pidfd,
      cloneIntoCgroup: this.layout.version === 'v2' && probe.clone3 && kernelAtLeast(5, 7),
      root: own ? (own.version === 'v2' ? own.unified : (own.v1.memory ?? null)) : null,
      reasons,
    };
  }

  private fail(method: string, message: string, reason: PortError['reason'] = 'InvalidArgument') {
    const error: PortError = { _tag: 'PortError', port: 'Cgroups', method, reason, message };
    return { ok: false as const, error };
  }

  create(relPath: string, limits: CgroupLimits): PortResult<{ handle: string }> {
    const bad = invalidPath(relPath);
    if (bad) return this.fail('create', bad);
    const own = this.layout.own;
    if (!own) return this.fail('create', 'no cgroup filesystem mounted', 'Unsupported');
    const p = childPlacement(own, relPath);
    const made = own.version === 'v2' ? this.makeV2(own.unified!, relPath) : this.makeV1(p);
    if (!made.ok) return made;
    // Fixed order (kernel ≥ 4.5 for v2 memory and pids): memory first, so a process
    // placed later is charged from its first page; then pids.
    const steps = [() => memory.set(p, limits.memBytes), () => pids.set(p, limits.pids)];
    for (const step of steps) {
      const r = step();
      if (!r.ok) return r;
    }
    return { ok: true, value: { handle: handleOf(placementDirs(p)) } };
  }

  private mkdir(dir: string): PortResult<true> {
    try {
      mkdirSync(dir, { recursive: true });
      return { ok: true, value: true };
    } catch (cause) {
      return { ok: false, error: cgroupError('create', `mkdir ${dir}`, cause, dir) };
    }
  }

  private makeV1(p: Placement): PortResult<true> {
    for (const dir of placementDirs(p)) {
      const r = this.mkdir(dir);
      if (!r.ok) return r;
    }
    return { ok: true, value: true };
  }

  /** v2: every level from the root to the leaf's parent delegates memory and pids. */
  private makeV2(root: string, relPath: string): PortResult<true> {
    let dir = root;
    for (const part of relPath.split('/')) {
      const r = this.enableControllers(dir, dir === root);
      if (!r.ok) return r;
      dir = `${dir}/${part}`;
      const m = this.mkdir(dir);
      if (!m.ok) return m;
    }
    return { ok: true, value: true };
  }

  private enableControllers(dir: string, isRoot: boolean): PortResult<true> {
    const available = parseControllers(readText(`${dir}/cgroup.controllers`) ?? '');
    const enabled = parseControllers(readText(`${dir}/cgroup.subtree_control`) ?? '');
    const missing = WANTED.filter((c) => available.includes(c) && !enabled.includes(c));
    if (missing.length === 0) return { ok: true, value: true };
    const data = missing.map((c) => `+${c}`).join(' ');
    const r = writeText('create', `${dir}/cgroup.subtree_control`, data);
    if (r.ok || !isRoot || r.error.reason !== 'Busy') return r;
    // "No internal processes": the daemon's own cgroup holds processes (the daemon), so
    // they move to a leaf first, as delegated service managers do.
    const leaf = `${dir}/shipote-daemon`;
    const m = this.mkdir(leaf);
    if (!m.ok) return m;
    for (const pid of parseControllers(readText(`${dir}/cgroup.procs`) ?? '')) {
      writeText('create', `${leaf}/cgroup.procs`, pid); // a pid may exit meanwhile
    }
    return writeText('create', `${dir}/cgroup.subtree_control`, data);
  }

  private placement(handle: string): Placement {
    return placementFromDirs(this.layout, dirsOf(handle));
  }

  stats(handle: string): PortResult<CgroupStats> {
    const p = this.placement(handle);
    if (!placementDirs(p).some((d) => readText(`${d}/cgroup.procs`) !== null)) {
      return this.fail('stats', `no such cgroup: ${handle}`, 'NotFound');
    }
    return { ok: true, value: { ...memory.stat(p), ...cpu.stat(p), ...pids.stat(p) } };
  }

  /** Never blocks: processes that have not exited yet come back as Busy (a value). */
  kill(handle: string): PortResult<{ killed: number }> {
    return killPlacement(this.placement(handle));
  }

  /**
   * rmdir of every hierarchy's dir. Never blocks: while processes are still listed, or the
   * kernel answers EBUSY (the last ones are exiting), the answer is Busy, and the engine
   * calls again on a timer.
   */
  remove(handle: string): PortResult<true> {
    for (const dir of placementDirs(this.placement(handle))) {
      const left = procsOf(dir).length;
      if (left > 0) return busy('remove', dir, left);
      try {
        rmdirSync(dir);
      } catch (cause) {
        const code = (cause as { code?: string }).code;
        if (code === 'ENOENT') continue; // already removed: the goal is reached
        if (code === 'EBUSY') return busy('remove', dir, procsOf(dir).length);
        return { ok: false, error: cgroupError('remove', `rmdir ${dir}`, cause, dir) };
      }
    }
    return { ok: true, value: true };
  }
}

export function createLinuxCgroups(opts: LinuxCgroupsOptions = {}): LinuxCgroups {
  return new LinuxCgroups(opts);
}
