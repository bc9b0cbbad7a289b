/** Envelope (core/ports.ts) → the addon's spawn options. Pure apart from the constants. */

import type { Envelope } from '../../core/ports.js';
import type { NativeConstants, SpawnOpts } from './addon.js';
import { cgroupProcsFiles } from './cgroups/handle.js';

export type RlimitName =
  | 'nofile'
  | 'nproc'
  | 'as'
  | 'core'
  | 'cpu'
  | 'data'
  | 'fsize'
  | 'memlock'
  | 'stack';

const rlimitKeys: Record<RlimitName, keyof NativeConstants> = {
  nofile: 'RLIMIT_NOFILE',
  nproc: 'RLIMIT_NPROC',
  as: 'RLIMIT_AS',
  core: 'RLIMIT_CORE',
  cpu: 'RLIMIT_CPU',
  data: 'RLIMIT_DATA',
  fsize: 'RLIMIT_FSIZE',
  memlock: 'RLIMIT_MEMLOCK',
  stack: 'RLIMIT_STACK',
};

/** Flat [resource, soft, hard] triples; a value of 0 leaves the limit as inherited. */
export function rlimitTriples(
  c: NativeConstants,
  limits: Partial<Record<RlimitName, number>>,
): number[] {
  const out: number[] = [];
  for (const [name, value] of Object.entries(limits) as [RlimitName, number | undefined][]) {
    if (value === undefined || value === 0) continue;
    const resource = c[rlimitKeys[name]];
    out.push(resource, value, value);
  }
  return out;
}

export interface Identity {
  uid: number;
  gid: number;
}

export function spawnOptsFor(c: NativeConstants, envelope: Envelope, id: Identity): SpawnOpts {
  const ns = envelope.namespaces;
  let nsFlags = 0;
  if (ns.user) nsFlags |= c.CLONE_NEWUSER;
  if (ns.pid) nsFlags |= c.CLONE_NEWPID;
  if (ns.mount) nsFlags |= c.CLONE_NEWNS;
  if (ns.net) nsFlags |= c.CLONE_NEWNET;
  if (ns.uts) nsFlags |= c.CLONE_NEWUTS;
  if (ns.ipc) nsFlags |= c.CLONE_NEWIPC;
  const opts: SpawnOpts = {
    rlimits: rlimitTriples(c, envelope.rlimits),
    nsFlags,
    newCgroupNs: ns.cgroup,
    // A fresh /proc only makes sense when the child is pid 1 of its own namespace and
    // the mount does not leak to the host.
    mountProc: ns.pid && ns.mount,
    loUp: ns.net,
    setsid: true,
    pdeathsig: true,
  };
  if (ns.user) {
    opts.uidMap = `0 ${id.uid} 1\n`;
    opts.gidMap = `0 ${id.gid} 1\n`;
  }
  if (envelope.cgroup !== null) opts.cgroupProcs = cgroupProcsFiles(envelope.cgroup);
  return opts;
}

/** NAME=value list with `name` set (replacing an existing entry). */
export function withEnv(envp: string[], name: string, value: string): string[] {
  const prefix = `${name}=`;
  return [...envp.filter((kv) => !kv.startsWith(prefix)), prefix + value];
}
