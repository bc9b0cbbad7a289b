/**
 * The declarative field table of the workspace and pipeline TOML files: every key the
 * validators accept, its type and its default. The key sets are typed as `Record` over the
 * validators' own key lists (workspace.ts, pipeline.ts), so a key added to a validator and
 * not here (or here and not there) fails to compile; the defaults are the validators' own
 * (defaults.ts, PIPELINE_DEFAULTS). `schema.ts` turns this table into JSON Schemas.
 */

import { workspaceSpec } from './defaults.js';
import { LOG_ROTATION_RANGES } from './limits.js';
import * as P from './pipeline.js';
import type { LOG_KEYS_TOML } from './read.js';
import * as W from './workspace.js';

export type Field =
  | { kind: 'string'; doc: string; required?: boolean; nonEmpty?: boolean; default?: string }
  | {
      kind: 'int';
      doc: string;
      required?: boolean;
      default?: number;
      /** 0 or a value in this range (LOG_ROTATION_RANGES); absent: any non-negative. */
      zeroOr?: { min: number; max: number };
    }
  | { kind: 'bool'; doc: string; default: boolean }
  | { kind: 'enum'; doc: string; choices: readonly string[]; default: string; caseless?: boolean }
  | { kind: 'strings'; doc: string; envStyle?: boolean }
  | { kind: 'stringMap'; doc: string }
  | { kind: 'table'; doc: string; fields: Fields }
  | { kind: 'tables'; doc: string; fields: Fields; required?: boolean; minItems?: number };

export type Fields = Readonly<Record<string, Field>>;

type Keys<T extends readonly string[]> = Record<T[number], Field>;

const D = workspaceSpec({ label: '' });
const PD = P.PIPELINE_DEFAULTS;

const limit = (doc: string, value: number): Field => ({ kind: 'int', doc, default: value });
const ns = (doc: string): Field => ({ kind: 'bool', doc, default: false });
const enforce = (doc: string, value: string): Field => ({
  kind: 'enum',
  doc,
  choices: W.ENFORCE_ACTIONS,
  default: value,
  caseless: true,
});

const rlimits: Keys<typeof W.RLIMIT_KEYS> = {
  mem_bytes: limit('RLIMIT_AS in bytes; 0 = no limit', D.rlimits.memBytes),
  nproc: limit('RLIMIT_NPROC; 0 = no limit', D.rlimits.nproc),
  nofile: limit('RLIMIT_NOFILE; 0 = no limit', D.rlimits.nofile),
};

const namespaces: Keys<typeof W.NAMESPACE_KEYS> = {
  user: ns('a new user namespace (maps the caller to root inside)'),
  pid: ns('a new pid namespace'),
  mount: ns('a new mount namespace'),
  net: ns('a new network namespace (loopback only)'),
  uts: ns('a new UTS namespace (hostname)'),
  ipc: ns('a new IPC namespace'),
  cgroup: ns('a new cgroup namespace'),
};

const soma: Keys<typeof W.SOMA_KEYS> = {
  rlimits: { kind: 'table', doc: 'resource limits of every process', fields: rlimits },
  namespaces: { kind: 'table', doc: 'Linux namespaces; all default false', fields: namespaces },
  cgroup: {
    kind: 'table',
    doc: 'the cgroup v2 group of the workspace',
    fields: {
      path: {
        kind: 'string',
        doc: "relative to the daemon's cgroup; no '..', '.', empty segments",
        default: D.cgroupPath,
      },
    } satisfies Keys<typeof W.CGROUP_KEYS>,
  },
};

export const WORKSPACE_FIELDS: Keys<typeof W.ROOT_KEYS> = {
  label: { kind: 'string', doc: 'unique name of the workspace', required: true, nonEmpty: true },
  on_exit: {
    kind: 'enum',
    doc: 'reap: stopping signals every command (TERM, grace, KILL); wait: lets them finish',
    choices: W.ON_EXIT_CHOICES,
    default: D.onExit,
  },
  ttl: limit('ms after which the workspace stops by itself; 0 = never', D.ttlMs),
  soma: {
    kind: 'table',
    doc: 'the body of the workspace: limits, namespaces, cgroup',
    fields: soma,
  },
  quota_enforce: {
    kind: 'table',
    doc: 'what a breached quota does: none, log or kill',
    fields: {
      mem: enforce('on a memory breach', D.quotaEnforce.mem),
      nproc: enforce('on a process-count breach', D.quotaEnforce.nproc),
    } satisfies Keys<typeof W.ENFORCE_KEYS>,
  },
};

/** The `logs` table of a service, a pipeline and a node (read.ts, readLogRotation). */
export const LOGS_FIELD: Field = {
  kind: 'table',
  doc: "size rotation of the captured stdout/stderr, each stream on its own; 0 = the daemon's",
  fields: {
    max_bytes: {
      kind: 'int',
      doc: "a file is rotated at this size; 0 = SHIPOTE_LOG_MAX_BYTES (daemon's default)",
      default: 0,
      zeroOr: LOG_ROTATION_RANGES.maxBytes,
    },
    keep: {
      kind: 'int',
      doc: "files per stream, the one written included; 0 = SHIPOTE_LOG_KEEP (daemon's default)",
      default: 0,
      zeroOr: LOG_ROTATION_RANGES.keep,
    },
  } satisfies Record<(typeof LOG_KEYS_TOML)[number], Field>,
};

const discern: Keys<typeof P.DISCERN_KEYS> = {
  sample_bytes: limit('bytes of each edge sampled to discern its type', PD.sampleBytes),
  enrich_producer: { kind: 'bool', doc: 'tell the producer what its consumer is', default: false },
  replay_chunks: limit('chunks a late flow reader gets replayed', PD.replayChunks),
  replay_bytes: limit('bytes a late flow reader gets replayed; 0 = by chunks', 0),
  max_bytes_per_sec: limit('throughput cap of a tapped edge; 0 = none', 0),
};

const native: Keys<typeof P.NATIVE_KEYS> = {
  exec: { kind: 'string', doc: 'absolute path of the program', required: true, nonEmpty: true },
  argv: { kind: 'strings', doc: 'arguments after the program name' },
  envp: { kind: 'strings', doc: 'the whole environment, KEY=value', envStyle: true },
};

const node: Keys<typeof P.NODE_KEYS> = {
  label: { kind: 'string', doc: 'name of the node', required: true, nonEmpty: true },
  payload: {
    kind: 'table',
    doc: 'what the node runs',
    fields: {
      Native: { kind: 'table', doc: 'a program with its arguments', fields: native },
    } satisfies Keys<typeof P.PAYLOAD_KEYS>,
  },
  logs: { ...LOGS_FIELD, doc: "this node's log rotation, field by field over the pipeline's" },
};

const edge: Keys<typeof P.EDGE_KEYS> = {
  from: { kind: 'int', doc: 'index of the producing node', required: true },
  from_output: { kind: 'enum', doc: 'its stream', choices: P.FROM_OUTPUTS, default: 'stdout' },
  to: { kind: 'int', doc: 'index of the consuming node', required: true },
  to_input: { kind: 'enum', doc: 'the consumer stream', choices: P.TO_INPUTS, default: 'stdin' },
};

export const PIPELINE_FIELDS: Keys<typeof P.ROOT_KEYS> = {
  label: { kind: 'string', doc: 'name of the pipeline', required: true, nonEmpty: true },
  workspace: {
    kind: 'string',
    doc: 'id or label of an existing workspace',
    required: true,
    nonEmpty: true,
  },
  discern: { kind: 'table', doc: 'edge sampling and flow replay', fields: discern },
  nodes: { kind: 'tables', doc: 'the processes', fields: node, required: true, minItems: 1 },
  edges: { kind: 'tables', doc: 'stdout/stderr → stdin connections', fields: edge },
  restart_on_failure: {
    kind: 'bool',
    doc: 'relaunch the whole pipeline when it ends with a failure',
    default: false,
  },
  restart_backoff_ms: limit('first restart delay', PD.backoffMsInitial),
  restart_max_backoff_ms: limit('restart delay cap', PD.backoffMsMax),
  restart_max: limit('restarts before giving up; 0 = no cap', 0),
  restart_reset_ms: limit('a run this long resets the backoff', PD.resetAfterMs),
  crash_loop_max: limit(
    'deaths within the window that trip the crash-loop guard',
    PD.crashLoopDeathsMax,
  ),
  crash_loop_window_ms: limit('the crash-loop window', PD.crashLoopWindowMs),
  logs: { ...LOGS_FIELD, doc: "log rotation of every node (a node's own logs win)" },
};
