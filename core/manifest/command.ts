/** Validation of the camelCase JSON command request the control API receives. */

import {
  newReader,
  readBool,
  readEnum,
  readInt,
  readString,
  readStrings,
  readTable,
} from './read.js';
import type { CommandSpec, SpecResult } from './types.js';

const COMMAND_KEYS = [
  'exec',
  'argv',
  'envp',
  'cwd',
  'label',
  'restartOnFailure',
  'ready',
  'watchdogMs',
] as const;

export function validateCommandSpec(raw: unknown): SpecResult<CommandSpec> {
  const r = newReader();
  const obj = readTable(r, raw, '', COMMAND_KEYS);
  if (obj === null) return { ok: false, issues: r.issues };
  const spec: CommandSpec = {
    exec: readString(r, obj, 'exec', '', { nonEmpty: true }),
    argv: readStrings(r, obj, 'argv', '', {}),
    envp: readStrings(r, obj, 'envp', '', { envStyle: true }),
    cwd: readString(r, obj, 'cwd', '', { fallback: '' }),
    label: readString(r, obj, 'label', '', { fallback: '' }),
    restartOnFailure: readBool(r, obj, 'restartOnFailure', '', false),
    ready: readEnum(r, obj, 'ready', '', ['exec', 'notify'] as const, { fallback: 'exec' }),
    watchdogMs: readInt(r, obj, 'watchdogMs', '', 0),
  };
  if (r.issues.length > 0) return { ok: false, issues: r.issues };
  return { ok: true, value: spec };
}
