/**
 * The `shipote apply` file (contract §7): one TOML document that declares workspaces,
 * services, pipelines and workers. Parsed and validated WHOLE: every issue of every entry is
 * reported with its line, and nothing is returned unless the whole file is valid.
 *
 * ```toml
 * [[workspaces]]            # the workspace spec of §1, one table per workspace
 * label = "web"
 *
 * [[services]]
 * label = "api"             # unique within its workspace
 * workspace = "web"         # a label declared above, or of a workspace that already runs
 * exec = "/usr/bin/node"    # a name without '/' is looked up in the service's PATH
 * argv = ["server.js"]
 * cwd = "/srv/api"          # relative paths are relative to the apply file
 * env = { PORT = "8080" }   # wins over env_file
 * env_file = ".env"         # dotenv format, relative to the apply file
 * user = "www-data"         # run as (daemon running as root only); "" = the daemon's
 * group = "www-data"
 * restart = "on-failure"    # no | on-failure | always
 * backoff_ms = 200          # first restart delay, doubling …
 * max_backoff_ms = 30000    # … up to this
 * crash_loop_max = 3        # more than this many deaths … (0 = no crash-loop guard)
 * crash_loop_window_ms = 300000  # … within this window → crash-loop
 * ready = "notify"          # exec | notify (READY=1 on NOTIFY_SOCKET)
 * ready_timeout_ms = 5000   # 0 = wait forever
 * watchdog_ms = 0           # 0 = none; armed from READY=1
 * depends_on = ["db"]       # services of the same workspace, started (and ready) first
 * logs = { max_bytes = 1048576, keep = 5 }  # rotation of its stdout/stderr; 0 = daemon's
 *
 * [[pipelines]]             # inline: the pipeline spec of §3 (nodes as [[pipelines.nodes]])
 * file = "etl.toml"         # … or a pipeline file, relative to the apply file
 * vars = { IN = "x" }       # ${IN} templating, for either form
 *
 * [[workers]]               # the durable queue of §9
 * name = "mailer"
 * workspace = "web"
 * exec = "/usr/bin/mail-one"
 * ```
 *
 * Pure: files (env_file, pipeline files) come through the injected `ApplySources`.
 */

import { stringify } from 'smol-toml';
import { joinPath } from './issues.js';
import { findLine } from './lines.js';
import { parseToml } from './parse.js';
import { validatePipelineSpec } from './pipeline.js';
import {
  expected,
  fail,
  isPlainObject,
  LOG_KEYS_TOML,
  newReader,
  type Obj,
  type Reader,
  readEnum,
  readInt,
  readLogRotation,
  readString,
  readStrings,
  readTable,
} from './read.js';
import { expandValue } from './templates.js';
import type {
  CommandSpec,
  LogRotation,
  PipelineSpec,
  RestartMode,
  SpecIssue,
  SpecResult,
  WorkspaceSpec,
} from './types.js';
import { validateWorkspaceSpec } from './workspace.js';

export type { RestartMode } from './types.js';

/**
 * One `[[services]]` entry, normalised: every default filled in. A command's spec (its
 * `restart` says what `restartOnFailure` would) in a workspace named by label; `envp` is
 * `KEY=value`, env_file first then env (env wins), sorted by key; `logs` { 0, 0 } is the
 * daemon's defaults.
 */
export interface ServiceSpec extends Omit<CommandSpec, 'restartOnFailure' | 'logs'> {
  /** The label of the workspace it runs in. */
  workspace: string;
  logs: LogRotation;
}

export interface ApplyPipeline {
  spec: PipelineSpec;
  /** The pipeline TOML as written (templates unexpanded) and its vars, for relaunch. */
  source: string;
  vars: Record<string, string>;
}

/**
 * One `[[workers]]` entry as a plain validated record; the worker subsystem turns it into
 * its own spec through the `ApplyWorkerHook` of the control adapter.
 */
export interface WorkerDecl {
  name: string;
  workspace: string;
  exec: string;
  argv: string[];
  cwd: string;
  envp: string[];
}

export interface ApplyDocument {
  workspaces: WorkspaceSpec[];
  services: ServiceSpec[];
  pipelines: ApplyPipeline[];
  workers: WorkerDecl[];
}

/** What the parser may read, relative to the apply file; injected (core reads no files). */
export interface ApplySources {
  /** The text of a file named in the apply file, or an error message. */
  readText(path: string): { ok: true; text: string } | { ok: false; message: string };
  /** dotenv text → variables (the adapter hands in a well-kept dotenv parser). */
  parseEnv(text: string): Record<string, string>;
  /** Absolute path of the apply file's directory (cwd and file paths are made relative to it). */
  baseDir: string;
  /**
   * Labels of the workspaces that already run, when known: a service, pipeline or worker may
   * name one of these or one of the file; any other is an issue of the file.
   */
  liveWorkspaces?: string[];
  /** An exec without '/' looked up in `pathVar` (the service's PATH); null when not found. */
  findExec(name: string, pathVar: string): string | null;
}

export const SERVICE_DEFAULTS = {
  restart: 'no' as RestartMode,
  backoffMs: 200,
  backoffMsMax: 30_000,
  crashLoopMax: 3,
  crashLoopWindowMs: 300_000,
  readyTimeoutMs: 0,
  watchdogMs: 0,
  /** The PATH a service gets when neither env nor env_file sets one (systemd's default). */
  path: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
} as const;

export const APPLY_ROOT_KEYS = ['workspaces', 'services', 'pipelines', 'workers'] as const;
export const SERVICE_KEYS = [
  'label',
  'workspace',
  'exec',
  'argv',
  'cwd',
  'env',
  'env_file',
  'user',
  'group',
  'restart',
  'backoff_ms',
  'max_backoff_ms',
  'crash_loop_max',
  'crash_loop_window_ms',
  'ready',
  'ready_timeout_ms',
  'watchdog_ms',
  'depends_on',
  'logs',
] as const;
export const WORKER_KEYS = ['name', 'workspace', 'exec', 'argv', 'cwd', 'env'] as const;
export const RESTART_MODES: readonly RestartMode[] = ['no', 'on-failure', 'always'];
/** Labels and names: 1–63 characters, letters, digits, `.`, `_`, `-`, not starting with `-`. */
const LABEL_RE = /^[A-Za-z0-9_.][A-Za-z0-9_.-]{0,62}$/;
const ENV_KEY_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Apply TOML text → the validated document, or every issue with its line. */
export function parseApplyToml(text: string, sources: ApplySources): SpecResult<ApplyDocument> {
  const parsed = parseToml(text);
  if (!parsed.ok) return parsed;
  const r = newReader();
  const root = readTable(r, parsed.value, '', APPLY_ROOT_KEYS);
  if (root === null) return { ok: false, issues: withLines(text, r.issues) };
  const doc: ApplyDocument = {
    workspaces: readEntries(r, root, 'workspaces', (raw, path) => readWorkspace(r, raw, path)),
    services: readEntries(r, root, 'services', (raw, path) => readService(r, raw, path, sources)),
    pipelines: readEntries(r, root, 'pipelines', (raw, path) =>
      readPipeline(r, raw, path, sources),
    ),
    workers: readEntries(r, root, 'workers', (raw, path) => readWorker(r, raw, path, sources)),
  };
  checkDocument(r, doc);
  if (sources.liveWorkspaces) r.issues.push(...workspaceRefIssues(doc, sources.liveWorkspaces));
  if (r.issues.length > 0) return { ok: false, issues: withLines(text, r.issues) };
  return { ok: true, value: doc };
}

/** Each issue with the line of the apply file its path names, when it can be found. */
export function withLines(text: string, issues: SpecIssue[]): SpecIssue[] {
  return issues.map((issue) => {
    if (issue.line !== undefined) return issue;
    const line = findLine(text, issue.path);
    return line === undefined ? issue : { ...issue, line };
  });
}

function readEntries<T>(
  r: Reader,
  root: Obj,
  key: string,
  read: (raw: Obj, path: string) => T | null,
): T[] {
  const value = root[key];
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    expected(r, key, `an array of tables ([[${key}]])`, value);
    return [];
  }
  const out: T[] = [];
  value.forEach((raw: unknown, index) => {
    const path = joinPath(key, index);
    if (!isPlainObject(raw)) {
      expected(r, path, 'a table', raw);
      return;
    }
    const entry = read(raw, path);
    if (entry !== null) out.push(entry);
  });
  return out;
}

function prefixed(issues: SpecIssue[], path: string): SpecIssue[] {
  return issues.map((issue) => ({ ...issue, path: joinPath(path, issue.path) }));
}

function readWorkspace(r: Reader, raw: Obj, path: string): WorkspaceSpec | null {
  const result = validateWorkspaceSpec(raw);
  if (typeof raw.label === 'string' && raw.label !== '') readLabel(r, raw, 'label', path);
  if (result.ok) return result.value;
  r.issues.push(...prefixed(result.issues, path));
  return null;
}

function readLabel(r: Reader, obj: Obj, key: string, path: string): string {
  const label = readString(r, obj, key, path, { nonEmpty: true });
  if (label !== '' && !LABEL_RE.test(label)) {
    expected(r, joinPath(path, key), '1-63 of A-Z a-z 0-9 . _ - (not starting with -)', label);
  }
  return label;
}

function readService(r: Reader, raw: Obj, path: string, src: ApplySources): ServiceSpec {
  const obj = readTable(r, raw, path, SERVICE_KEYS) ?? {};
  const int = (key: string, fallback: number) => readInt(r, obj, key, path, fallback);
  const d = SERVICE_DEFAULTS;
  const envp = readEnv(r, obj, path, src);
  return {
    label: readLabel(r, obj, 'label', path),
    workspace: readString(r, obj, 'workspace', path, { nonEmpty: true }),
    exec: readExec(r, obj, path, src, envp),
    argv: readStrings(r, obj, 'argv', path, {}),
    cwd: resolvePath(src.baseDir, readString(r, obj, 'cwd', path, { fallback: '' })),
    envp,
    user: readString(r, obj, 'user', path, { fallback: '' }),
    group: readString(r, obj, 'group', path, { fallback: '' }),
    restart: readEnum(r, obj, 'restart', path, RESTART_MODES, { fallback: d.restart }),
    backoffMs: int('backoff_ms', d.backoffMs),
    backoffMsMax: int('max_backoff_ms', d.backoffMsMax),
    crashLoopMax: int('crash_loop_max', d.crashLoopMax),
    crashLoopWindowMs: int('crash_loop_window_ms', d.crashLoopWindowMs),
    ready: readEnum(r, obj, 'ready', path, ['exec', 'notify'] as const, { fallback: 'exec' }),
    readyTimeoutMs: int('ready_timeout_ms', d.readyTimeoutMs),
    watchdogMs: int('watchdog_ms', d.watchdogMs),
    dependsOn: readStrings(r, obj, 'depends_on', path, {}),
    logs: readLogRotation(r, obj, path, LOG_KEYS_TOML) ?? { maxBytes: 0, keep: 0 },
  };
}

/** `exec`, a bare name resolved in the PATH of `envp` (as execvp would, but up front). */
function readExec(r: Reader, obj: Obj, path: string, src: ApplySources, envp: string[]) {
  const exec = readString(r, obj, 'exec', path, { nonEmpty: true });
  if (exec === '' || exec.includes('/')) return exec;
  const pathVar = envp.find((kv) => kv.startsWith('PATH='))?.slice('PATH='.length) ?? '';
  const found = src.findExec(exec, pathVar);
  if (found === null) {
    fail(r, joinPath(path, 'exec'), `"${exec}" is not an executable in PATH=${pathVar}`);
    return exec;
  }
  return found;
}

/** `base` joined with a relative `path` ('' stays ''); `..` segments are kept as written. */
export function resolvePath(base: string, path: string): string {
  if (path === '' || path.startsWith('/')) return path;
  const trimmed = path.startsWith('./') ? path.slice(2) : path;
  return base.endsWith('/') ? `${base}${trimmed}` : `${base}/${trimmed}`;
}

/** env_file (dotenv) then the env table; PATH defaults as systemd's; sorted `KEY=value`. */
function readEnv(r: Reader, obj: Obj, path: string, src: ApplySources): string[] {
  const vars: Record<string, string> = { PATH: SERVICE_DEFAULTS.path };
  const file = readString(r, obj, 'env_file', path, { fallback: '' });
  if (file !== '') {
    const read = src.readText(resolvePath(src.baseDir, file));
    if (!read.ok) fail(r, joinPath(path, 'env_file'), `cannot read "${file}": ${read.message}`);
    else Object.assign(vars, src.parseEnv(read.text));
  }
  Object.assign(vars, readEnvTable(r, obj, path));
  for (const [key, value] of Object.entries(vars)) {
    if (!ENV_KEY_RE.test(key)) {
      expected(r, joinPath(path, 'env'), 'variable names of A-Z a-z 0-9 _', key);
    }
    if (value.includes('\0')) fail(r, joinPath(joinPath(path, 'env'), key), 'contains NUL');
  }
  return Object.entries(vars)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, value]) => `${key}=${value}`);
}

function readEnvTable(r: Reader, obj: Obj, path: string): Record<string, string> {
  return readStringTable(r, obj.env, joinPath(path, 'env'));
}

function readStringTable(r: Reader, table: unknown, where: string): Record<string, string> {
  if (table === undefined) return {};
  if (!isPlainObject(table)) {
    expected(r, where, 'a table of strings ({ KEY = "value" })', table);
    return {};
  }
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(table)) {
    if (typeof value === 'string') out[key] = value;
    else expected(r, joinPath(where, key), 'a string', value);
  }
  return out;
}

function readPipeline(r: Reader, raw: Obj, path: string, src: ApplySources): ApplyPipeline | null {
  const { vars: _vars, ...inline } = raw;
  const vars = readStringTable(r, raw.vars, joinPath(path, 'vars'));
  if (raw.file !== undefined) return readPipelineFile(r, raw, path, src, vars);
  const result = validatePipelineSpec(expandValue(inline, vars));
  if (!result.ok) {
    r.issues.push(...prefixed(result.issues, path));
    return null;
  }
  return { spec: result.value, source: stringify(inline), vars };
}

function readPipelineFile(
  r: Reader,
  raw: Obj,
  path: string,
  src: ApplySources,
  vars: Record<string, string>,
): ApplyPipeline | null {
  const where = joinPath(path, 'file');
  const extra = Object.keys(raw).filter((key) => key !== 'file' && key !== 'vars');
  for (const key of extra) fail(r, joinPath(path, key), 'not allowed beside "file"');
  const file = readString(r, raw, 'file', path, { nonEmpty: true });
  if (file === '') return null;
  const read = src.readText(resolvePath(src.baseDir, file));
  if (!read.ok) {
    fail(r, where, `cannot read "${file}": ${read.message}`);
    return null;
  }
  const parsed = parseToml(read.text);
  const result = parsed.ok ? validatePipelineSpec(expandValue(parsed.value, vars)) : parsed;
  if (result.ok) return { spec: result.value, source: read.text, vars };
  for (const issue of withLines(read.text, result.issues)) {
    const at = issue.line === undefined ? '' : `:${issue.line}`;
    fail(r, where, `${file}${at}: ${issue.path}: ${issue.message}`);
  }
  return null;
}

function readWorker(r: Reader, raw: Obj, path: string, src: ApplySources): WorkerDecl {
  const obj = readTable(r, raw, path, WORKER_KEYS) ?? {};
  const env = readEnvTable(r, obj, path);
  const envp = Object.entries({ PATH: SERVICE_DEFAULTS.path, ...env })
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, value]) => `${key}=${value}`);
  return {
    name: readLabel(r, obj, 'name', path),
    workspace: readString(r, obj, 'workspace', path, { nonEmpty: true }),
    exec: readExec(r, obj, path, src, envp),
    argv: readStrings(r, obj, 'argv', path, {}),
    cwd: resolvePath(src.baseDir, readString(r, obj, 'cwd', path, { fallback: '' })),
    envp,
  };
}

/** Cross-entry rules: unique labels, backoff order, depends_on known and acyclic. */
function checkDocument(r: Reader, doc: ApplyDocument): void {
  duplicates(r, 'workspaces', doc.workspaces, (w) => w.label, 'label');
  duplicates(r, 'services', doc.services, (s) => `${s.workspace}/${s.label}`, 'label');
  duplicates(r, 'pipelines', doc.pipelines, (p) => p.spec.label, 'label');
  duplicates(r, 'workers', doc.workers, (w) => w.name, 'name');
  doc.services.forEach((s, i) => {
    if (s.backoffMsMax < s.backoffMs) {
      const message = `expected at least backoff_ms (${s.backoffMs}), got ${s.backoffMsMax}`;
      fail(r, `services[${i}].max_backoff_ms`, message);
    }
    if (s.crashLoopMax > 0 && s.crashLoopWindowMs === 0) {
      const message = 'expected a window above 0 when crash_loop_max is set (0 turns it off)';
      fail(r, `services[${i}].crash_loop_window_ms`, message);
    }
  });
  checkDependencies(r, doc.services);
}

/** Every workspace a service, pipeline or worker names is in the file or in `live`. */
export function workspaceRefIssues(doc: ApplyDocument, live: string[]): SpecIssue[] {
  const known = new Set([...doc.workspaces.map((w) => w.label), ...live]);
  const issues: SpecIssue[] = [];
  const check = (path: string, label: string) => {
    if (known.has(label)) return;
    issues.push({ path, message: `no workspace "${label}" in this file or in the daemon` });
  };
  doc.services.forEach((s, i) => {
    check(`services[${i}].workspace`, s.workspace);
  });
  doc.pipelines.forEach((p, i) => {
    check(`pipelines[${i}].workspace`, p.spec.workspace);
  });
  doc.workers.forEach((w, i) => {
    check(`workers[${i}].workspace`, w.workspace);
  });
  return issues;
}

function duplicates<T>(
  r: Reader,
  key: string,
  list: T[],
  name: (item: T) => string,
  field: string,
): void {
  const seen = new Map<string, number>();
  list.forEach((item, index) => {
    const id = name(item);
    const first = seen.get(id);
    if (first === undefined) seen.set(id, index);
    else fail(r, `${key}[${index}].${field}`, `duplicate "${id}" (first at ${key}[${first}])`);
  });
}

function checkDependencies(r: Reader, services: ServiceSpec[]): void {
  const byKey = new Map(services.map((s, i) => [`${s.workspace}/${s.label}`, i]));
  services.forEach((s, i) => {
    s.dependsOn.forEach((dep, j) => {
      if (byKey.has(`${s.workspace}/${dep}`)) return;
      const where = `services[${i}].depends_on[${j}]`;
      fail(r, where, `no service "${dep}" in workspace "${s.workspace}" of this file`);
    });
  });
  const cycle = findCycle(services);
  if (cycle !== null) {
    const i = byKey.get(cycle[0]!) ?? 0;
    fail(r, `services[${i}].depends_on`, `dependency cycle: ${cycle.join(' -> ')}`);
  }
}

/** A dependency cycle as `ws/label` keys (first repeated last), or null. */
export function findCycle(services: ServiceSpec[]): string[] | null {
  const deps = new Map(
    services.map((s) => [
      `${s.workspace}/${s.label}`,
      s.dependsOn.map((d) => `${s.workspace}/${d}`),
    ]),
  );
  const done = new Set<string>();
  const stack: string[] = [];
  const visit = (key: string): string[] | null => {
    if (done.has(key)) return null;
    const at = stack.indexOf(key);
    if (at >= 0) return [...stack.slice(at), key];
    stack.push(key);
    for (const dep of deps.get(key) ?? []) {
      const found = deps.has(dep) ? visit(dep) : null;
      if (found !== null) return found;
    }
    stack.pop();
    done.add(key);
    return null;
  };
  for (const key of deps.keys()) {
    const found = visit(key);
    if (found !== null) return found;
  }
  return null;
}
