/** Validation of the camelCase JSON command request the control API receives. */

import { COMMAND_DEFAULTS } from './defaults.js';
import {
  fail,
  LOG_KEYS_JSON,
  newReader,
  type Reader,
  readBool,
  readEnum,
  readInt,
  readLogRotation,
  readString,
  readStrings,
  readTable,
} from './read.js';
import type { CommandSpec, RestartMode, SpecResult } from './types.js';

const COMMAND_KEYS = [
  'exec',
  'argv',
  'envp',
  'cwd',
  'label',
  'restart',
  'restartOnFailure',
  'backoffMs',
  'backoffMsMax',
  'crashLoopMax',
  'crashLoopWindowMs',
  'ready',
  'readyTimeoutMs',
  'watchdogMs',
  'dependsOn',
  'user',
  'group',
  'logs',
] as const;

const RESTART_MODES = ['no', 'on-failure', 'always'] as const;

type Obj = Record<string, unknown>;

/** `restart` wins; the older `restartOnFailure` alone means on-failure or no. */
function readRestart(r: Reader, obj: Obj): RestartMode {
  const legacy = readBool(r, obj, 'restartOnFailure', '', false);
  const fallback = legacy ? 'on-failure' : 'no';
  const restart = readEnum(r, obj, 'restart', '', RESTART_MODES, { fallback });
  if (obj.restart !== undefined && obj.restartOnFailure !== undefined) {
    if (legacy !== (restart !== 'no')) {
      const message = `${legacy} contradicts restart = "${restart}"; send only restart`;
      fail(r, 'restartOnFailure', message);
    }
  }
  return restart;
}

function checkCoherence(r: Reader, spec: CommandSpec): void {
  if (spec.backoffMsMax < spec.backoffMs) {
    const message = `expected at least backoffMs (${spec.backoffMs}), got ${spec.backoffMsMax}`;
    fail(r, 'backoffMsMax', message);
  }
  if (spec.crashLoopMax > 0 && spec.crashLoopWindowMs === 0) {
    fail(r, 'crashLoopWindowMs', 'expected a positive window when crashLoopMax > 0, got 0');
  }
  if (spec.readyTimeoutMs > 0 && spec.ready !== 'notify') {
    const why = 'with "exec" it is ready at once';
    fail(r, 'readyTimeoutMs', `${spec.readyTimeoutMs} needs ready = "notify" (${why})`);
  }
  const seen = new Set<string>();
  spec.dependsOn.forEach((label, index) => {
    const path = `dependsOn[${index}]`;
    if (label === '') fail(r, path, 'expected a command label, got ""');
    else if (label === spec.label) fail(r, path, `"${label}" is this command's own label`);
    else if (seen.has(label)) fail(r, path, `"${label}" is listed twice`);
    seen.add(label);
  });
}

export function validateCommandSpec(raw: unknown): SpecResult<CommandSpec> {
  const r = newReader();
  const obj = readTable(r, raw, '', COMMAND_KEYS);
  if (obj === null) return { ok: false, issues: r.issues };
  const restart = readRestart(r, obj);
  const spec: CommandSpec = {
    exec: readString(r, obj, 'exec', '', { nonEmpty: true }),
    argv: readStrings(r, obj, 'argv', '', {}),
    envp: readStrings(r, obj, 'envp', '', { envStyle: true }),
    cwd: readString(r, obj, 'cwd', '', { fallback: '' }),
    label: readString(r, obj, 'label', '', { fallback: '' }),
    restart,
    restartOnFailure: restart !== 'no',
    backoffMs: readInt(r, obj, 'backoffMs', '', COMMAND_DEFAULTS.backoffMs),
    backoffMsMax: readInt(r, obj, 'backoffMsMax', '', COMMAND_DEFAULTS.backoffMsMax),
    crashLoopMax: readInt(r, obj, 'crashLoopMax', '', COMMAND_DEFAULTS.crashLoopMax),
    crashLoopWindowMs: readInt(r, obj, 'crashLoopWindowMs', '', COMMAND_DEFAULTS.crashLoopWindowMs),
    ready: readEnum(r, obj, 'ready', '', ['exec', 'notify'] as const, { fallback: 'exec' }),
    readyTimeoutMs: readInt(r, obj, 'readyTimeoutMs', '', 0),
    watchdogMs: readInt(r, obj, 'watchdogMs', '', 0),
    dependsOn: readStrings(r, obj, 'dependsOn', '', {}),
    user: readString(r, obj, 'user', '', { fallback: '' }),
    group: readString(r, obj, 'group', '', { fallback: '' }),
  };
  const logs = readLogRotation(r, obj, '', LOG_KEYS_JSON);
  if (logs) spec.logs = logs;
  if (r.issues.length === 0) checkCoherence(r, spec);
  if (r.issues.length > 0) return { ok: false, issues: r.issues };
  return { ok: true, value: spec };
}
