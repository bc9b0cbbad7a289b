/** Validation of the workspace TOML (contract §1), snake_case in, `WorkspaceSpec` out. */

import { checkCgroupPath } from './cgroup.js';
import { workspaceSpec } from './defaults.js';
import {
  newReader,
  type Obj,
  type Reader,
  readBool,
  readEnum,
  readInt,
  readLabel,
  readString,
  readSubTable,
  readTable,
} from './read.js';
import type { EnforceAction, Namespaces, SpecResult, WorkspaceSpec } from './types.js';

export const ROOT_KEYS = ['label', 'on_exit', 'ttl', 'soma', 'quota_enforce'] as const;
export const SOMA_KEYS = ['rlimits', 'namespaces', 'cgroup'] as const;
export const RLIMIT_KEYS = ['mem_bytes', 'nproc', 'nofile'] as const;
export const NAMESPACE_KEYS = ['user', 'pid', 'mount', 'net', 'uts', 'ipc', 'cgroup'] as const;
export const CGROUP_KEYS = ['path'] as const;
export const ENFORCE_KEYS = ['mem', 'nproc'] as const;
export const ENFORCE_ACTIONS: readonly EnforceAction[] = ['none', 'log', 'kill'];
export const ON_EXIT_CHOICES = ['reap', 'wait'] as const;
/** The fallback of every key (the label has none: it is required). */
const D = workspaceSpec({ label: '' });

export function validateWorkspaceSpec(raw: unknown): SpecResult<WorkspaceSpec> {
  const r = newReader();
  const root = readTable(r, raw, '', ROOT_KEYS);
  if (root === null) return { ok: false, issues: r.issues };
  const label = readLabel(r, root, 'label', '');
  const onExit = readEnum(r, root, 'on_exit', '', ON_EXIT_CHOICES, {
    fallback: D.onExit,
  });
  const ttlMs = readInt(r, root, 'ttl', '', D.ttlMs);
  const soma = readSubTable(r, root, 'soma', '', SOMA_KEYS);
  const rl = readSubTable(r, soma, 'rlimits', 'soma', RLIMIT_KEYS);
  const ns = readSubTable(r, soma, 'namespaces', 'soma', NAMESPACE_KEYS);
  const cg = readSubTable(r, soma, 'cgroup', 'soma', CGROUP_KEYS);
  const enforce = readSubTable(r, root, 'quota_enforce', '', ENFORCE_KEYS);
  const cgroupPath = readString(r, cg, 'path', 'soma.cgroup', { fallback: D.cgroupPath });
  const cgroupIssue = checkCgroupPath(cgroupPath);
  if (cgroupIssue !== null) r.issues.push(cgroupIssue);
  const spec: WorkspaceSpec = {
    label,
    onExit,
    ttlMs,
    rlimits: {
      memBytes: readInt(r, rl, 'mem_bytes', 'soma.rlimits', D.rlimits.memBytes),
      nproc: readInt(r, rl, 'nproc', 'soma.rlimits', D.rlimits.nproc),
      nofile: readInt(r, rl, 'nofile', 'soma.rlimits', D.rlimits.nofile),
    },
    namespaces: readNamespaces(r, ns),
    cgroupPath,
    quotaEnforce: {
      mem: readEnforce(r, enforce, 'mem'),
      nproc: readEnforce(r, enforce, 'nproc'),
    },
  };
  if (r.issues.length > 0) return { ok: false, issues: r.issues };
  return { ok: true, value: spec };
}

function readEnforce(r: Reader, enforce: Obj, key: 'mem' | 'nproc'): EnforceAction {
  return readEnum(r, enforce, key, 'quota_enforce', ENFORCE_ACTIONS, {
    fallback: D.quotaEnforce[key],
    caseless: true,
  });
}

function readNamespaces(r: Reader, ns: Obj): Namespaces {
  const path = 'soma.namespaces';
  return {
    user: readBool(r, ns, 'user', path, D.namespaces.user),
    pid: readBool(r, ns, 'pid', path, D.namespaces.pid),
    mount: readBool(r, ns, 'mount', path, D.namespaces.mount),
    net: readBool(r, ns, 'net', path, D.namespaces.net),
    uts: readBool(r, ns, 'uts', path, D.namespaces.uts),
    ipc: readBool(r, ns, 'ipc', path, D.namespaces.ipc),
    cgroup: readBool(r, ns, 'cgroup', path, D.namespaces.cgroup),
  };
}
