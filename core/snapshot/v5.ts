/**
 * Snapshot v5: v4 + the commands the daemon answered for (services and running one-shots).
 * `{ version: 5, workspaces, savedPipelines, livePipelines, stats,
 *    commands: [{ id, workspaceId, spec, restarts, backoffMs }] }`. A spec's `logs`
 * (rotation; also of pipelines and nodes) is optional within v5: written only when set.
 */

import type { CommandSpec } from '../manifest/types.js';
import { type ListSlot, packAnchored, packOnce, reuseList, reuseRecord } from './canonical.js';
import { arr, Corrupt, int, join, obj, oneOf, str, strItem, unique } from './check.js';
import { checkLogRotation, packLogRotation } from './specs.js';
import type {
  PersistedCommand,
  PersistedLivePipeline,
  PersistedSavedPipeline,
  PersistedStats,
  PersistedWorkspace,
  Snapshot,
} from './types.js';
import { packWorkspace } from './v1.js';
import { packSaved } from './v2.js';
import { packLive } from './v3.js';
import { packStats, type SnapshotV4, unpackV4 } from './v4.js';

export function checkCommandSpec(value: unknown, path: string): CommandSpec {
  const o = obj(value, path);
  const restart = oneOf(o, 'restart', path, ['no', 'on-failure', 'always'] as const);
  const spec: CommandSpec = {
    exec: str(o, 'exec', path, true),
    argv: arr(o, 'argv', path, strItem),
    envp: arr(o, 'envp', path, strItem),
    cwd: str(o, 'cwd', path),
    label: str(o, 'label', path, true),
    restart,
    restartOnFailure: restart !== 'no',
    backoffMs: int(o, 'backoffMs', path),
    backoffMsMax: int(o, 'backoffMsMax', path),
    crashLoopMax: int(o, 'crashLoopMax', path),
    crashLoopWindowMs: int(o, 'crashLoopWindowMs', path),
    ready: oneOf(o, 'ready', path, ['exec', 'notify'] as const),
    readyTimeoutMs: int(o, 'readyTimeoutMs', path),
    watchdogMs: int(o, 'watchdogMs', path),
    dependsOn: arr(o, 'dependsOn', path, strItem),
    user: str(o, 'user', path),
    group: str(o, 'group', path),
    ...checkLogRotation(o, path),
  };
  if (spec.backoffMsMax < spec.backoffMs) {
    throw new Corrupt(`${join(path, 'backoffMsMax')}: below backoffMs (${spec.backoffMs})`);
  }
  return spec;
}

const packedCommandSpecs = new WeakMap<CommandSpec, PackedCommandSpec>();

type PackedCommandSpec = Omit<CommandSpec, 'restartOnFailure'>;

/**
 * The persisted fields (restartOnFailure is derived, not stored), packed once per spec
 * object (specs are never mutated), so its text is encoded once.
 */
export function packCommandSpec(s: CommandSpec): PackedCommandSpec {
  return packOnce(packedCommandSpecs, s, packCommandSpecFields);
}

function packCommandSpecFields(s: CommandSpec): PackedCommandSpec {
  return {
    argv: [...s.argv],
    backoffMs: s.backoffMs,
    backoffMsMax: s.backoffMsMax,
    crashLoopMax: s.crashLoopMax,
    crashLoopWindowMs: s.crashLoopWindowMs,
    cwd: s.cwd,
    dependsOn: [...s.dependsOn],
    envp: [...s.envp],
    exec: s.exec,
    group: s.group,
    label: s.label,
    ...packLogRotation(s.logs),
    ready: s.ready,
    readyTimeoutMs: s.readyTimeoutMs,
    restart: s.restart,
    user: s.user,
    watchdogMs: s.watchdogMs,
  };
}

export function unpackCommand(value: unknown, path: string): PersistedCommand {
  const o = obj(value, path);
  return {
    id: str(o, 'id', path, true),
    workspaceId: str(o, 'workspaceId', path, true),
    spec: checkCommandSpec(o.spec, join(path, 'spec')),
    restarts: int(o, 'restarts', path),
    backoffMs: int(o, 'backoffMs', path),
  };
}

const packedCommands = new WeakMap<CommandSpec, { source: PersistedCommand; packed: object }>();

const sameCommand = (a: PersistedCommand, b: PersistedCommand): boolean =>
  a.id === b.id &&
  a.workspaceId === b.workspaceId &&
  a.restarts === b.restarts &&
  a.backoffMs === b.backoffMs;

/** Packed again only when a field besides the spec changed (see packAnchored). */
function packCommand(c: PersistedCommand): object {
  return packAnchored(packedCommands, c.spec, c, sameCommand, packCommandFields);
}

function packCommandFields(c: PersistedCommand): object {
  return {
    backoffMs: c.backoffMs,
    id: c.id,
    restarts: c.restarts,
    spec: packCommandSpec(c.spec),
    workspaceId: c.workspaceId,
  };
}

export function unpackV5(value: unknown): Snapshot {
  const v4 = unpackV4(value);
  // Stryker disable next-line StringLiteral: readVersion checked the root as an object first
  const root = obj(value, '');
  const commands = arr(root, 'commands', '', unpackCommand);
  unique(commands, (c) => c.id, 'commands', 'id');
  return { ...v4, version: 5, commands };
}

const slots = {
  commands: { last: null } as ListSlot<object>,
  workspaces: { last: null } as ListSlot<PersistedWorkspace>,
  savedPipelines: { last: null } as ListSlot<PersistedSavedPipeline>,
  livePipelines: { last: null } as ListSlot<PersistedLivePipeline>,
  stats: { last: null } as ListSlot<PersistedStats>,
  snapshot: { last: null } as { last: object | null },
};

const sameSaved = (a: PersistedSavedPipeline, b: PersistedSavedPipeline): boolean =>
  a.name === b.name && a.source === b.source && a.savedAtWallMs === b.savedAtWallMs;

/**
 * The v5 record, its sections reused while they hold the same packed records (see
 * reuseList): an unchanged snapshot packs to the very object, and text, of the last one.
 */
export function packV5(s: Snapshot): unknown {
  return reuseRecord(slots.snapshot, {
    commands: reuseList(slots.commands, s.commands.map(packCommand)),
    livePipelines: reuseList(slots.livePipelines, s.livePipelines.map(packLive)),
    savedPipelines: reuseList(slots.savedPipelines, s.savedPipelines.map(packSaved), sameSaved),
    stats: reuseList(slots.stats, s.stats.map(packStats)),
    version: 5,
    workspaces: reuseList(slots.workspaces, s.workspaces.map(packWorkspace)),
  });
}

/** v4 knew no commands: none were persisted, none are lost (they were never promised). */
export function upgradeV4(s: SnapshotV4): Snapshot {
  return { ...s, version: 5, commands: [] };
}
