/** Envelope (core/ports.ts) → the addon's spawn options. Pure apart from the constants. */

import type { Envelope, ProcRequest } from '../../core/ports.js';
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

export function validateProcRequest(req: ProcRequest): string | null {
  const isStrings = (v: unknown): boolean =>
    Array.isArray(v) && v.every((s) => typeof s === 'string');
  if (typeof req.exec !== 'string' || req.exec === '') {
    return `Expected the \`exec\` option to be a non-empty string, got \`${String(req.exec)}\``;
  }
  if (!isStrings(req.argv)) return 'Expected the `argv` option to be an array of strings';
  if (!isStrings(req.envp)) return 'Expected the `envp` option to be an array of strings';
  if (typeof req.cwd !== 'string') return 'Expected the `cwd` option to be a string';
  const r = req.envelope?.rlimits;
  for (const n of [r?.nofile, r?.nproc]) {
    if (!Number.isSafeInteger(n) || (n as number) < 0) {
      return 'Expected the `envelope.rlimits` values to be non-negative integers';
    }
  }
  const w = req.watchdogUs;
  if (w !== undefined && (!Number.isSafeInteger(w) || w < 0)) {
    return `Expected the \`watchdogUs\` option to be a non-negative integer, got \`${w}\``;
  }
  for (const field of ['user', 'group'] as const) {
    const v = req[field];
    if (v !== undefined && (typeof v !== 'string' || v === '')) {
      return `Expected the \`${field}\` option to be a non-empty name, got \`${String(v)}\``;
    }
  }
  return null;
}
