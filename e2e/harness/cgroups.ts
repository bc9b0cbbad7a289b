/**
 * Gives shipote, running inside the container, a delegated cgroup it owns: the
 * container's own subtree, mounted read-write. Docker mounts the hierarchies read-only;
 * this helper mounts fresh ones over them (v1: a tmpfs at /sys/fs/cgroup and one cgroupfs
 * per hierarchy, same controller combinations as the host; v2: cgroup2 at /sys/fs/cgroup,
 * the container's processes moved to the leaf `init`, the controllers enabled for children,
 * and the daemon started in its own child `shipote-daemon`; on v2 shipote must itself keep
 * its processes out of any cgroup where it enables controllers: no internal processes).
 *
 * Safety: with a shared cgroup namespace the same mounts would expose the HOST's root
 * hierarchy, so `assertPrivateCgroupns` runs first and aborts before any cgroup write.
 */

import { readlinkSync } from 'node:fs';
import type { E2eContainer } from './container.js';
import type { CgroupVersion } from './env.js';
import { E2eError } from './errors.js';

export interface DelegatedCgroups {
  version: CgroupVersion;
  /** The daemon's own cgroup, relative to the mounted root ('' on v1: the container root). */
  daemonCgroup: string;
  /** Shell prefix that moves the shell running it into the daemon's cgroup (v2 only). */
  enterDaemonCgroup: string;
  /** Absolute dir of `rel` (relative to the daemon's cgroup) for one controller. */
  dir(controller: Controller, rel: string): string;
  /** Absolute dir of `name` directly under the container's root (harness smoke tests). */
  rootChild(controller: Controller, name: string): string;
  /** `memory.limit_in_bytes` (v1) or `memory.max` (v2). */
  memLimitFile: string;
  /** The file with the `oom_kill N` line: `memory.oom_control` (v1), `memory.events` (v2). */
  oomEventsFile: string;
}

export type Controller = 'memory' | 'pids' | 'cpuacct';

const base = '/sys/fs/cgroup';
/** Mount flags in /proc/mounts that are not hierarchy options. */
const mountFlags = new Set(['rw', 'ro', 'nosuid', 'nodev', 'noexec', 'relatime']);

/** Aborts unless the container's cgroup namespace differs from this process's. */
export async function assertPrivateCgroupns(c: E2eContainer): Promise<void> {
  const host = readlinkSync('/proc/self/ns/cgroup');
  const inside = (await c.shOk('readlink /proc/1/ns/cgroup')).trim();
  const paths = (await c.shOk('cut -d: -f3 /proc/1/cgroup')).trim().split('\n');
  const rooted = paths.every((p) => p === '/');
  if (inside === host || !inside.startsWith('cgroup:[') || !rooted) {
    const detail = `host ${host}, container ${inside}, container paths ${paths.join(' ')}`;
    throw new E2eError('cgroup', `cgroup namespace is not private (${detail}): refusing`);
  }
}

export async function detectCgroupVersion(c: E2eContainer): Promise<CgroupVersion> {
  const fsType = (await c.shOk(`stat -fc %T ${base}`)).trim();
  return fsType === 'cgroup2fs' ? 'v2' : 'v1';
}

/** Mounts the container's own hierarchies read-write (idempotent). */
export async function mountDelegatedCgroups(c: E2eContainer): Promise<DelegatedCgroups> {
  await assertPrivateCgroupns(c);
  const version = await detectCgroupVersion(c);
  return version === 'v2' ? mountV2(c) : mountV1(c);
}

async function mountV1(c: E2eContainer): Promise<DelegatedCgroups> {
  const mounted = await c.sh(`grep -q '^e2e-cgroups ${base} tmpfs' /proc/self/mounts`);
  if (mounted.exitCode !== 0) {
    const table = await c.shOk(`awk '$3 == "cgroup" { print $2, $4 }' /proc/self/mounts`);
    const lines = [`mount -t tmpfs -o mode=755 e2e-cgroups ${base}`];
    for (const row of table.trim().split('\n')) {
      const [mountPoint = '', opts = ''] = row.split(' ');
      const options = opts.split(',').filter((o) => !mountFlags.has(o));
      if (options.some((o) => o.startsWith('name='))) continue; // named: no controllers
      const name = mountPoint.slice(base.length + 1);
      lines.push(`mkdir -p ${base}/${name}`);
      lines.push(`mount -t cgroup -o ${options.join(',')} cgroup ${base}/${name}`);
      for (const controller of name.split(',')) {
        if (controller !== name) lines.push(`ln -sfn ${name} ${base}/${controller}`);
      }
    }
    await wrapCgroup('mount the v1 hierarchies', () => c.shOk(['set -e', ...lines].join('\n')));
  }
  await probeWritable(c, [`${base}/memory`, `${base}/pids`]);
  return {
    version: 'v1',
    daemonCgroup: '',
    enterDaemonCgroup: '',
    dir: (controller, rel) => `${base}/${controller}/${rel}`.replace(/\/+$/, ''),
    rootChild: (controller, name) => `${base}/${controller}/${name}`,
    memLimitFile: 'memory.limit_in_bytes',
    oomEventsFile: 'memory.oom_control',
  };
}

async function mountV2(c: E2eContainer): Promise<DelegatedCgroups> {
  const daemonCgroup = 'shipote-daemon';
  const script = [
    'set -e',
    `grep -q '^e2e-cgroup2 ' /proc/self/mounts || mount -t cgroup2 e2e-cgroup2 ${base}`,
    // `docker exec` then gets EBUSY on the root, and runc joins PID 1's cgroup (`init`).
    `mkdir -p ${base}/init ${base}/${daemonCgroup}`,
    // No internal processes: everything in the root moves to a leaf before enabling.
    `for p in $(cat ${base}/cgroup.procs); do echo $p > ${base}/init/cgroup.procs || :; done`,
    `for c in $(cat ${base}/cgroup.controllers); do`,
    `  echo +$c > ${base}/cgroup.subtree_control || :`,
    'done',
  ].join('\n');
  await wrapCgroup('mount cgroup2', () => c.shOk(script));
  await probeWritable(c, [`${base}/${daemonCgroup}`]);
  return {
    version: 'v2',
    daemonCgroup,
    enterDaemonCgroup: `echo $$ > ${base}/${daemonCgroup}/cgroup.procs; `,
    dir: (_controller, rel) => `${base}/${daemonCgroup}/${rel}`.replace(/\/+$/, ''),
    rootChild: (_controller, name) => `${base}/${name}`,
    memLimitFile: 'memory.max',
    oomEventsFile: 'memory.events',
  };
}

async function probeWritable(c: E2eContainer, dirs: string[]): Promise<void> {
  const probe = dirs.map((d) => `mkdir ${d}/.e2e-probe && rmdir ${d}/.e2e-probe`).join(' && ');
  await wrapCgroup(`create a child cgroup in ${dirs.join(', ')}`, () => c.shOk(probe));
}

async function wrapCgroup<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (cause) {
    throw new E2eError('cgroup', `could not ${what}`, { cause });
  }
}
