/** Validation of the pipeline TOML (contract §3), snake_case in, `PipelineSpec` out. */

import { checkGraph } from './graph.js';
import { joinPath } from './issues.js';
import { overLimit } from './limits.js';
import {
  expected,
  fail,
  LOG_KEYS_TOML,
  newReader,
  type Obj,
  type Reader,
  readBool,
  readEnum,
  readInt,
  readLabel,
  readLogRotation,
  readString,
  readStrings,
  readSubTable,
  readTable,
} from './read.js';
import type {
  CrashLoopPolicy,
  Discern,
  LogRotation,
  PipelineEdge,
  PipelineNode,
  PipelineSpec,
  RestartPolicy,
  SpecResult,
} from './types.js';

export const ROOT_KEYS = [
  'label',
  'workspace',
  'discern',
  'nodes',
  'edges',
  'restart_on_failure',
  'restart_backoff_ms',
  'restart_max_backoff_ms',
  'restart_max',
  'restart_reset_ms',
  'crash_loop_max',
  'crash_loop_window_ms',
  'logs',
] as const;
export const DISCERN_KEYS = [
  'sample_bytes',
  'enrich_producer',
  'replay_chunks',
  'replay_bytes',
  'max_bytes_per_sec',
] as const;
export const NODE_KEYS = ['label', 'payload', 'logs'] as const;
export const PAYLOAD_KEYS = ['Native'] as const;
export const NATIVE_KEYS = ['exec', 'argv', 'envp'] as const;
export const EDGE_KEYS = ['from', 'from_output', 'to', 'to_input'] as const;
export const FROM_OUTPUTS = ['stdout', 'stderr'] as const;
export const TO_INPUTS = ['stdin'] as const;

export const PIPELINE_DEFAULTS = {
  sampleBytes: 4096,
  replayChunks: 32,
  backoffMsInitial: 200,
  backoffMsMax: 30_000,
  resetAfterMs: 10_000,
  crashLoopDeathsMax: 3,
  crashLoopWindowMs: 300_000,
} as const;

export function validatePipelineSpec(raw: unknown): SpecResult<PipelineSpec> {
  const r = newReader();
  const root = readTable(r, raw, '', ROOT_KEYS);
  if (root === null) return { ok: false, issues: r.issues };
  const label = readLabel(r, root, 'label', '');
  const workspace = readString(r, root, 'workspace', '', { nonEmpty: true });
  const discern = readDiscern(r, readSubTable(r, root, 'discern', '', DISCERN_KEYS));
  const restart = readRestart(r, root);
  const crashLoop = readCrashLoop(r, root);
  const nodes = readNodes(r, root.nodes);
  const edges = readEdges(r, root.edges);
  const logs = readLogRotation(r, root, '', LOG_KEYS_TOML);
  if (r.issues.length > 0) return { ok: false, issues: r.issues };
  r.issues.push(...checkGraph(nodes, edges));
  if (r.issues.length > 0) return { ok: false, issues: r.issues };
  const spec: PipelineSpec = { label, workspace, discern, nodes, edges, restart, crashLoop };
  if (logs) spec.logs = logs;
  return { ok: true, value: spec };
}

/**
 * The log rotation node `index` runs with: its own fields over the pipeline's, field by
 * field (0 = not set there); undefined when neither sets anything (the daemon's defaults).
 */
export function nodeLogRotation(spec: PipelineSpec, index: number): LogRotation | undefined {
  const own = spec.nodes[index]?.logs;
  const all = spec.logs;
  const maxBytes = own?.maxBytes || all?.maxBytes || 0;
  const keep = own?.keep || all?.keep || 0;
  return maxBytes === 0 && keep === 0 ? undefined : { maxBytes, keep };
}

function readDiscern(r: Reader, d: Obj): Discern {
  return {
    sampleBytes: readInt(r, d, 'sample_bytes', 'discern', PIPELINE_DEFAULTS.sampleBytes),
    enrichProducer: readBool(r, d, 'enrich_producer', 'discern', false),
    replayChunks: readInt(r, d, 'replay_chunks', 'discern', PIPELINE_DEFAULTS.replayChunks),
    replayBytes: readInt(r, d, 'replay_bytes', 'discern', 0),
    maxBytesPerSec: readInt(r, d, 'max_bytes_per_sec', 'discern', 0),
  };
}

function readRestart(r: Reader, root: Obj): RestartPolicy {
  const policy: RestartPolicy = {
    restartOnFailure: readBool(r, root, 'restart_on_failure', '', false),
    backoffMsInitial: readInt(
      r,
      root,
      'restart_backoff_ms',
      '',
      PIPELINE_DEFAULTS.backoffMsInitial,
    ),
    backoffMsMax: readInt(r, root, 'restart_max_backoff_ms', '', PIPELINE_DEFAULTS.backoffMsMax),
    restartMax: readInt(r, root, 'restart_max', '', 0),
    resetAfterMs: readInt(r, root, 'restart_reset_ms', '', PIPELINE_DEFAULTS.resetAfterMs),
  };
  if (policy.backoffMsInitial > policy.backoffMsMax) {
    fail(
      r,
      'restart_backoff_ms',
      `expected at most restart_max_backoff_ms (${policy.backoffMsMax}), ` +
        `got ${policy.backoffMsInitial}`,
    );
  }
  return policy;
}

function readCrashLoop(r: Reader, root: Obj): CrashLoopPolicy {
  return {
    deathsMax: readInt(r, root, 'crash_loop_max', '', PIPELINE_DEFAULTS.crashLoopDeathsMax),
    windowMs: readInt(r, root, 'crash_loop_window_ms', '', PIPELINE_DEFAULTS.crashLoopWindowMs),
  };
}

function readNodes(r: Reader, value: unknown): PipelineNode[] {
  if (value === undefined) {
    fail(r, 'nodes', 'missing; expected at least one [[nodes]] table');
    return [];
  }
  if (!Array.isArray(value)) {
    expected(r, 'nodes', 'an array of [[nodes]] tables', value);
    return [];
  }
  if (value.length === 0) {
    fail(r, 'nodes', 'expected at least one node, got none');
    return [];
  }
  const tooMany = overLimit(value.length, 'nodes', 'nodesMax');
  if (tooMany !== null) {
    fail(r, 'nodes', tooMany);
    return [];
  }
  return value.map((item: unknown, index) => readNode(r, item, joinPath('nodes', index)));
}

const NO_PAYLOAD = (): PipelineNode['payload'] => ({ exec: '', argv: [], envp: [] });

function readNode(r: Reader, item: unknown, path: string): PipelineNode {
  const node = readTable(r, item, path, NODE_KEYS);
  if (node === null) return { label: '', payload: NO_PAYLOAD() };
  const label = readLabel(r, node, 'label', path);
  const payloadPath = joinPath(path, 'payload');
  if (node.payload === undefined) {
    fail(r, payloadPath, 'missing; expected a table with a Native entry');
    return { label, payload: NO_PAYLOAD() };
  }
  const payload = readTable(r, node.payload, payloadPath, PAYLOAD_KEYS);
  if (payload === null) return { label, payload: NO_PAYLOAD() };
  const nativePath = joinPath(payloadPath, 'Native');
  if (payload.Native === undefined) {
    // An unknown payload kind was reported already; only say "missing" for `payload = {}`.
    if (Object.keys(payload).length === 0) {
      fail(r, nativePath, 'missing; expected { exec, argv, envp }');
    }
    return { label, payload: NO_PAYLOAD() };
  }
  const native = readTable(r, payload.Native, nativePath, NATIVE_KEYS);
  if (native === null) return { label, payload: NO_PAYLOAD() };
  const logs = readLogRotation(r, node, path, LOG_KEYS_TOML);
  return {
    label,
    payload: {
      exec: readString(r, native, 'exec', nativePath, { nonEmpty: true }),
      argv: readStrings(r, native, 'argv', nativePath, {}),
      envp: readStrings(r, native, 'envp', nativePath, { envStyle: true }),
    },
    ...(logs ? { logs } : {}),
  };
}

function readEdges(r: Reader, value: unknown): PipelineEdge[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    expected(r, 'edges', 'an array of [[edges]] tables', value);
    return [];
  }
  const tooMany = overLimit(value.length, 'edges', 'edgesMax');
  if (tooMany !== null) {
    fail(r, 'edges', tooMany);
    return [];
  }
  return value.map((item: unknown, index) => {
    const path = joinPath('edges', index);
    const edge = readTable(r, item, path, EDGE_KEYS);
    if (edge === null) return { from: 0, fromOutput: 'stdout', to: 0, toInput: 'stdin' };
    return {
      from: readInt(r, edge, 'from', path, undefined),
      fromOutput: readEnum(r, edge, 'from_output', path, FROM_OUTPUTS, {
        fallback: 'stdout',
      }),
      to: readInt(r, edge, 'to', path, undefined),
      toInput: readEnum(r, edge, 'to_input', path, TO_INPUTS, { fallback: 'stdin' }),
    };
  });
}
