/**
 * Structural checks of persisted (validated, camelCase) specs, plus the semantic rules
 * that matter on restore: a safe cgroup path and a sound pipeline graph.
 */

import { checkCgroupPath } from '../manifest/cgroup.js';
import { checkGraph } from '../manifest/graph.js';
import { logRotationProblem } from '../manifest/limits.js';
import type {
  EnforceAction,
  LogRotation,
  PipelineEdge,
  PipelineNode,
  PipelineSpec,
  WorkspaceSpec,
} from '../manifest/types.js';
import { packOnce } from './canonical.js';
import { arr, bool, Corrupt, int, join, type Obj, obj, oneOf, str, strItem } from './check.js';

const ENFORCE: readonly EnforceAction[] = ['none', 'log', 'kill'];

/**
 * An optional `logs` (rotation) of a command, a pipeline or a node. Written only when set,
 * so a snapshot without it is the same v5 layout (absent = the daemon's defaults) and an
 * older shipote reading a newer file ignores it.
 */
export function checkLogRotation(o: Obj, path: string): { logs?: LogRotation } {
  if (o.logs === undefined) return {};
  const where = join(path, 'logs');
  const l = obj(o.logs, where);
  const logs = { maxBytes: int(l, 'maxBytes', where), keep: int(l, 'keep', where) };
  for (const name of ['maxBytes', 'keep'] as const) {
    const problem = logRotationProblem(name, logs[name]);
    if (problem !== null) throw new Corrupt(`${join(where, name)}: ${problem}`);
  }
  return { logs };
}

export function packLogRotation(logs: LogRotation | undefined): { logs?: LogRotation } {
  return logs ? { logs: { keep: logs.keep, maxBytes: logs.maxBytes } } : {};
}

export function checkWorkspaceSpec(value: unknown, path: string): WorkspaceSpec {
  const o = obj(value, path);
  const rl = obj(o.rlimits, join(path, 'rlimits'));
  const nsPath = join(path, 'namespaces');
  const ns = obj(o.namespaces, nsPath);
  const qe = obj(o.quotaEnforce, join(path, 'quotaEnforce'));
  const spec: WorkspaceSpec = {
    label: str(o, 'label', path, true),
    onExit: oneOf(o, 'onExit', path, ['reap', 'wait'] as const),
    ttlMs: int(o, 'ttlMs', path),
    rlimits: {
      memBytes: int(rl, 'memBytes', join(path, 'rlimits')),
      nproc: int(rl, 'nproc', join(path, 'rlimits')),
      nofile: int(rl, 'nofile', join(path, 'rlimits')),
    },
    namespaces: {
      user: bool(ns, 'user', nsPath),
      pid: bool(ns, 'pid', nsPath),
      mount: bool(ns, 'mount', nsPath),
      net: bool(ns, 'net', nsPath),
      uts: bool(ns, 'uts', nsPath),
      ipc: bool(ns, 'ipc', nsPath),
      cgroup: bool(ns, 'cgroup', nsPath),
    },
    cgroupPath: str(o, 'cgroupPath', path),
    quotaEnforce: {
      mem: oneOf(qe, 'mem', join(path, 'quotaEnforce'), ENFORCE),
      nproc: oneOf(qe, 'nproc', join(path, 'quotaEnforce'), ENFORCE),
    },
  };
  const issue = checkCgroupPath(spec.cgroupPath);
  if (issue !== null) throw new Corrupt(`${join(path, 'cgroupPath')}: ${issue.message}`);
  return spec;
}

function checkNode(value: unknown, path: string): PipelineNode {
  const o = obj(value, path);
  const payloadPath = join(path, 'payload');
  const p = obj(o.payload, payloadPath);
  return {
    label: str(o, 'label', path, true),
    payload: {
      exec: str(p, 'exec', payloadPath, true),
      argv: arr(p, 'argv', payloadPath, strItem),
      envp: arr(p, 'envp', payloadPath, strItem),
    },
    ...checkLogRotation(o, path),
  };
}

function checkEdge(value: unknown, path: string): PipelineEdge {
  const o = obj(value, path);
  return {
    from: int(o, 'from', path),
    fromOutput: oneOf(o, 'fromOutput', path, ['stdout', 'stderr'] as const),
    to: int(o, 'to', path),
    toInput: oneOf(o, 'toInput', path, ['stdin'] as const),
  };
}

export function checkPipelineSpec(value: unknown, path: string): PipelineSpec {
  const o = obj(value, path);
  const dPath = join(path, 'discern');
  const d = obj(o.discern, dPath);
  const rPath = join(path, 'restart');
  const r = obj(o.restart, rPath);
  const cPath = join(path, 'crashLoop');
  const c = obj(o.crashLoop, cPath);
  const spec: PipelineSpec = {
    label: str(o, 'label', path, true),
    workspace: str(o, 'workspace', path, true),
    discern: {
      sampleBytes: int(d, 'sampleBytes', dPath),
      enrichProducer: bool(d, 'enrichProducer', dPath),
      replayChunks: int(d, 'replayChunks', dPath),
      replayBytes: int(d, 'replayBytes', dPath),
      maxBytesPerSec: int(d, 'maxBytesPerSec', dPath),
    },
    nodes: arr(o, 'nodes', path, checkNode),
    edges: arr(o, 'edges', path, checkEdge),
    restart: {
      restartOnFailure: bool(r, 'restartOnFailure', rPath),
      backoffMsInitial: int(r, 'backoffMsInitial', rPath),
      backoffMsMax: int(r, 'backoffMsMax', rPath),
      restartMax: int(r, 'restartMax', rPath),
      resetAfterMs: int(r, 'resetAfterMs', rPath),
    },
    crashLoop: { deathsMax: int(c, 'deathsMax', cPath), windowMs: int(c, 'windowMs', cPath) },
    ...checkLogRotation(o, path),
  };
  if (spec.nodes.length === 0) corrupt0(join(path, 'nodes'), 'at least one node');
  const issue = checkGraph(spec.nodes, spec.edges)[0];
  if (issue !== undefined) throw new Corrupt(`${join(path, issue.path)}: ${issue.message}`);
  return spec;
}

function corrupt0(path: string, what: string): never {
  throw new Corrupt(`${path}: expected ${what}, got none`);
}

const packedWorkspaceSpecs = new WeakMap<WorkspaceSpec, WorkspaceSpec>();
const packedPipelineSpecs = new WeakMap<PipelineSpec, PipelineSpec>();

/**
 * Exactly the fields of the layout, so nothing extra a caller attached gets persisted.
 * Packed once per spec object (specs are never mutated), so its text is encoded once.
 */
export function packWorkspaceSpec(s: WorkspaceSpec): WorkspaceSpec {
  return packOnce(packedWorkspaceSpecs, s, packWorkspaceSpecFields);
}

export function packPipelineSpec(s: PipelineSpec): PipelineSpec {
  return packOnce(packedPipelineSpecs, s, packPipelineSpecFields);
}

function packWorkspaceSpecFields(s: WorkspaceSpec): WorkspaceSpec {
  return {
    cgroupPath: s.cgroupPath,
    label: s.label,
    namespaces: {
      cgroup: s.namespaces.cgroup,
      ipc: s.namespaces.ipc,
      mount: s.namespaces.mount,
      net: s.namespaces.net,
      pid: s.namespaces.pid,
      user: s.namespaces.user,
      uts: s.namespaces.uts,
    },
    onExit: s.onExit,
    quotaEnforce: { mem: s.quotaEnforce.mem, nproc: s.quotaEnforce.nproc },
    rlimits: { memBytes: s.rlimits.memBytes, nofile: s.rlimits.nofile, nproc: s.rlimits.nproc },
    ttlMs: s.ttlMs,
  };
}

function packPipelineSpecFields(s: PipelineSpec): PipelineSpec {
  const d = s.discern;
  const r = s.restart;
  return {
    crashLoop: { deathsMax: s.crashLoop.deathsMax, windowMs: s.crashLoop.windowMs },
    discern: {
      enrichProducer: d.enrichProducer,
      maxBytesPerSec: d.maxBytesPerSec,
      replayBytes: d.replayBytes,
      replayChunks: d.replayChunks,
      sampleBytes: d.sampleBytes,
    },
    edges: s.edges.map((e) => ({
      from: e.from,
      fromOutput: e.fromOutput,
      to: e.to,
      toInput: e.toInput,
    })),
    label: s.label,
    ...packLogRotation(s.logs),
    nodes: s.nodes.map((n) => ({
      label: n.label,
      ...packLogRotation(n.logs),
      payload: { argv: [...n.payload.argv], envp: [...n.payload.envp], exec: n.payload.exec },
    })),
    restart: {
      backoffMsInitial: r.backoffMsInitial,
      backoffMsMax: r.backoffMsMax,
      resetAfterMs: r.resetAfterMs,
      restartMax: r.restartMax,
      restartOnFailure: r.restartOnFailure,
    },
    workspace: s.workspace,
  };
}
