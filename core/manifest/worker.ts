/**
 * A worker as a request declares it (the control API's camelCase JSON body, and the
 * `[[worker]]` tables of an apply file once their keys are mapped): the command template
 * and its retry policy. Validation is a function; `apply` calls it too.
 */

import { BACKOFF_MS_INITIAL, BACKOFF_MS_MAX } from '../policy/backoff.js';
import { CRASH_LOOP_DEATHS_MAX, CRASH_LOOP_WINDOW_MS } from '../policy/intensity.js';
import { fail, newReader, readInt, readString, readStrings, readTable } from './read.js';
import type { SpecResult } from './types.js';

export interface WorkerSpec {
  /** 1–63 characters: letters, digits, `.`, `_`, `-`, starting with a letter or digit. */
  name: string;
  exec: string;
  argv: string[];
  envp: string[];
  cwd: string;
  backoffMsInitial: number;
  backoffMsMax: number;
  /** 0 = no timeout. */
  timeoutMs: number;
  /**
   * A task past `timeoutMs` gets SIGTERM, then SIGKILL this much later (0: SIGKILL at
   * once). Absent (a worker declared before it existed): TASK_KILL_GRACE_MS.
   */
  killGraceMs?: number;
  crashLoopMax: number;
  crashLoopWindowMs: number;
}

export const WORKER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

const WORKER_KEYS = [
  'name',
  'exec',
  'argv',
  'envp',
  'cwd',
  'backoffMsInitial',
  'backoffMsMax',
  'timeoutMs',
  'killGraceMs',
  'crashLoopMax',
  'crashLoopWindowMs',
] as const;

/** The default grace between a timed-out task's SIGTERM and its SIGKILL. */
export const TASK_KILL_GRACE_MS = 5_000;

export function validateWorkerSpec(raw: unknown, path = ''): SpecResult<WorkerSpec> {
  const r = newReader();
  const obj = readTable(r, raw, path, WORKER_KEYS);
  if (obj === null) return { ok: false, issues: r.issues };
  const at = (key: string) => (path === '' ? key : `${path}.${key}`);
  const spec: WorkerSpec = {
    name: readString(r, obj, 'name', path, { nonEmpty: true }),
    exec: readString(r, obj, 'exec', path, { nonEmpty: true }),
    argv: readStrings(r, obj, 'argv', path, {}),
    envp: readStrings(r, obj, 'envp', path, { envStyle: true }),
    cwd: readString(r, obj, 'cwd', path, { fallback: '' }),
    backoffMsInitial: readInt(r, obj, 'backoffMsInitial', path, BACKOFF_MS_INITIAL),
    backoffMsMax: readInt(r, obj, 'backoffMsMax', path, BACKOFF_MS_MAX),
    timeoutMs: readInt(r, obj, 'timeoutMs', path, 0),
    killGraceMs: readInt(r, obj, 'killGraceMs', path, TASK_KILL_GRACE_MS),
    crashLoopMax: readInt(r, obj, 'crashLoopMax', path, CRASH_LOOP_DEATHS_MAX),
    crashLoopWindowMs: readInt(r, obj, 'crashLoopWindowMs', path, CRASH_LOOP_WINDOW_MS),
  };
  if (spec.name !== '' && !WORKER_NAME.test(spec.name)) {
    fail(
      r,
      at('name'),
      `expected 1-63 characters of letters, digits, '.', '_', '-' starting with a letter ` +
        `or digit, got ${JSON.stringify(spec.name)}`,
    );
  }
  if (spec.backoffMsInitial < 1) {
    fail(r, at('backoffMsInitial'), `expected at least 1, got ${spec.backoffMsInitial}`);
  }
  if (spec.backoffMsMax < spec.backoffMsInitial) {
    fail(
      r,
      at('backoffMsMax'),
      `expected at least backoffMsInitial (${spec.backoffMsInitial}), got ${spec.backoffMsMax}`,
    );
  }
  if (spec.crashLoopMax < 1) {
    fail(r, at('crashLoopMax'), `expected at least 1, got ${spec.crashLoopMax}`);
  }
  if (r.issues.length > 0) return { ok: false, issues: r.issues };
  return { ok: true, value: spec };
}

/** The fields of a declared worker that `apply` compares with what is running. */
export type DeclaredWorker = Omit<WorkerSpec, 'name'>;

/**
 * For `apply`: what to do with a declared worker given the one of that name that exists
 * (null: none). Workers are not changed in place: a changed one is dropped (refused while
 * tasks remain, unless pruning with force) and created again.
 */
export function workerApplyAction(
  declared: WorkerSpec,
  existing: DeclaredWorker | null,
): 'create' | 'unchanged' | 'replace' {
  if (existing === null) return 'create';
  // Every key a worker table has, but its name (what the two are matched by).
  const keys = WORKER_KEYS.filter((k): k is keyof DeclaredWorker => k !== 'name');
  const same = keys.every((k) => JSON.stringify(declared[k]) === JSON.stringify(existing[k]));
  return same ? 'unchanged' : 'replace';
}
