/**
 * The field table of the apply file (apply.ts), for its JSON Schema (schema.ts). Keys are
 * typed over the parser's own key lists, so a key added to one and not the other fails to
 * compile; defaults are the parser's (SERVICE_DEFAULTS). A `[[pipelines]]` entry is either
 * an inline pipeline or `file` + `vars`: the schema lists both sets, none required, and the
 * parser checks which form it is.
 */

import {
  type APPLY_ROOT_KEYS,
  RESTART_MODES,
  SERVICE_DEFAULTS as S,
  type SERVICE_KEYS,
  type WORKER_KEYS,
} from './apply.js';
import {
  type Field,
  type Fields,
  LOGS_FIELD,
  PIPELINE_FIELDS,
  WORKSPACE_FIELDS,
} from './fields.js';

type Keys<T extends readonly string[]> = Record<T[number], Field>;

const int = (doc: string, value: number): Field => ({ kind: 'int', doc, default: value });
const text = (doc: string): Field => ({ kind: 'string', doc });
const required = (doc: string): Field => ({ kind: 'string', doc, required: true, nonEmpty: true });

const SERVICE_FIELDS: Keys<typeof SERVICE_KEYS> = {
  label: required('name of the service, unique within its workspace'),
  workspace: required('label of a workspace of this file or of the daemon'),
  exec: required('the program; a name without / is looked up in PATH'),
  argv: { kind: 'strings', doc: 'arguments after the program name' },
  cwd: text('working directory, relative to the apply file'),
  env: { kind: 'stringMap', doc: 'environment variables; win over env_file' },
  env_file: text('a dotenv file, relative to the apply file'),
  user: text("user to run as (daemon running as root); '' = the daemon's"),
  group: text("group to run as; '' = the daemon's"),
  restart: {
    kind: 'enum',
    doc: 'when it is started again',
    choices: RESTART_MODES,
    default: S.restart,
  },
  backoff_ms: int('first restart delay, doubled per failure', S.backoffMs),
  max_backoff_ms: int('restart delay cap', S.backoffMsMax),
  crash_loop_max: int('deaths within the window that trip the crash-loop guard', S.crashLoopMax),
  crash_loop_window_ms: int('the crash-loop window', S.crashLoopWindowMs),
  ready: {
    kind: 'enum',
    doc: 'notify: ready after READY=1 on NOTIFY_SOCKET',
    choices: ['exec', 'notify'],
    default: 'exec',
  },
  ready_timeout_ms: int('no READY=1 by then is a failure; 0 = no limit', S.readyTimeoutMs),
  watchdog_ms: int('no WATCHDOG=1 for this long is a failure; 0 = none', S.watchdogMs),
  depends_on: { kind: 'strings', doc: 'services of the same workspace started (ready) first' },
  logs: LOGS_FIELD,
};

const WORKER_FIELDS: Keys<typeof WORKER_KEYS> = {
  name: required('name of the worker'),
  workspace: required('label of a workspace of this file or of the daemon'),
  exec: required('the program run for each task'),
  argv: { kind: 'strings', doc: 'arguments after the program name' },
  cwd: text('working directory, relative to the apply file'),
  env: { kind: 'stringMap', doc: 'environment variables' },
};

/** The pipeline spec's fields, none required, plus `file` and `vars`. */
function pipelineEntry(): Fields {
  const out: Record<string, Field> = {};
  for (const [key, f] of Object.entries(PIPELINE_FIELDS)) {
    if (f.kind === 'string') out[key] = { ...f, required: false };
    else if (f.kind === 'tables') out[key] = { ...f, required: false };
    else out[key] = f;
  }
  out.file = text('a pipeline file, relative to the apply file (instead of inline keys)');
  out.vars = { kind: 'stringMap', doc: 'values of the pipeline template variables' };
  return out;
}

export const APPLY_FIELDS: Keys<typeof APPLY_ROOT_KEYS> = {
  workspaces: { kind: 'tables', doc: 'workspace specs', fields: WORKSPACE_FIELDS },
  services: { kind: 'tables', doc: 'supervised commands', fields: SERVICE_FIELDS },
  pipelines: { kind: 'tables', doc: 'pipelines, inline or by file', fields: pipelineEntry() },
  workers: { kind: 'tables', doc: 'durable task queues', fields: WORKER_FIELDS },
};
