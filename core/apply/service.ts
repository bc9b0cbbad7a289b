/**
 * A service of the apply file ↔ the CommandSpec the engine runs. The service fields beyond
 * the one-shot command (restart policy, readiness timeout, dependencies, user/group) are
 * declared here as `ServiceCommandFields`, with the engine's names; a CommandSpec that lacks
 * one (an older engine, an older snapshot) reads as its default.
 */

import { type RestartMode, SERVICE_DEFAULTS, type ServiceSpec } from '../manifest/apply.js';
import type { CommandSpec } from '../manifest/types.js';

export interface ServiceCommandFields {
  restart: RestartMode;
  backoffMs: number;
  backoffMsMax: number;
  crashLoopMax: number;
  crashLoopWindowMs: number;
  readyTimeoutMs: number;
  dependsOn: string[];
  user: string;
  group: string;
}

export type ServiceCommandSpec = CommandSpec & ServiceCommandFields;

/** The CommandSpec that runs `service`. */
export function commandSpecOf(service: ServiceSpec): ServiceCommandSpec {
  return {
    exec: service.exec,
    argv: [...service.argv],
    envp: [...service.envp],
    cwd: service.cwd,
    label: service.label,
    restartOnFailure: service.restart !== 'no',
    ready: service.ready,
    watchdogMs: service.watchdogMs,
    restart: service.restart,
    backoffMs: service.backoffMs,
    backoffMsMax: service.backoffMsMax,
    crashLoopMax: service.crashLoopMax,
    crashLoopWindowMs: service.crashLoopWindowMs,
    readyTimeoutMs: service.readyTimeoutMs,
    dependsOn: [...service.dependsOn],
    user: service.user,
    group: service.group,
    // Only when set: a service with the daemon's defaults has the spec it had before.
    ...(service.logs.maxBytes > 0 || service.logs.keep > 0 ? { logs: { ...service.logs } } : {}),
  };
}

function pick<T>(spec: Record<string, unknown>, key: string, fallback: T): T {
  const value = spec[key];
  return value === undefined || value === null ? fallback : (value as T);
}

/** The service a running command amounts to, defaults for the fields it lacks. */
export function serviceOf(workspace: string, spec: CommandSpec): ServiceSpec {
  const raw = spec as unknown as Record<string, unknown>;
  const d = SERVICE_DEFAULTS;
  const restartFallback: RestartMode = spec.restartOnFailure ? 'on-failure' : 'no';
  return {
    label: spec.label,
    workspace,
    exec: spec.exec,
    argv: [...spec.argv],
    cwd: spec.cwd,
    envp: [...spec.envp],
    user: pick(raw, 'user', ''),
    group: pick(raw, 'group', ''),
    restart: pick(raw, 'restart', restartFallback),
    backoffMs: pick(raw, 'backoffMs', d.backoffMs),
    backoffMsMax: pick(raw, 'backoffMsMax', d.backoffMsMax),
    crashLoopMax: pick(raw, 'crashLoopMax', d.crashLoopMax),
    crashLoopWindowMs: pick(raw, 'crashLoopWindowMs', d.crashLoopWindowMs),
    ready: spec.ready,
    readyTimeoutMs: pick(raw, 'readyTimeoutMs', d.readyTimeoutMs),
    watchdogMs: spec.watchdogMs,
    dependsOn: [...pick<string[]>(raw, 'dependsOn', [])],
    logs: { maxBytes: spec.logs?.maxBytes ?? 0, keep: spec.logs?.keep ?? 0 },
  };
}
