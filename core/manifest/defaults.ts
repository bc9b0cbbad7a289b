/**
 * The defaults of contract §1 and §3, as whole values: what a workspace with only a label, and
 * the policy tables of a pipeline that sets none, validate to. The workspace validator reads its
 * fallbacks from here; tests, fakes, the simulator and the bench build their specs from here;
 * the spec tests check both agree with the validators.
 */

import { PIPELINE_DEFAULTS as P } from './pipeline.js';
import type { CommandSpec, Namespaces, PipelineSpec, WorkspaceSpec } from './types.js';

/** Every namespace off (contract §1: "all default false"); a fresh object on each call. */
export function noNamespaces(): Namespaces {
  return {
    user: false,
    pid: false,
    mount: false,
    net: false,
    uts: false,
    ipc: false,
    cgroup: false,
  };
}

/** A workspace spec with every default filled in, then `over` on top. */
export function workspaceSpec(
  over: Partial<WorkspaceSpec> & Pick<WorkspaceSpec, 'label'>,
): WorkspaceSpec {
  const { label, ...rest } = over;
  return {
    label,
    onExit: 'reap',
    ttlMs: 0,
    rlimits: { memBytes: 0, nproc: 0, nofile: 0 },
    namespaces: noNamespaces(),
    cgroupPath: '',
    quotaEnforce: { mem: 'none', nproc: 'none' },
    ...rest,
  };
}

/** The policy tables of a pipeline whose TOML sets none of them (contract §3). */
export function pipelinePolicies(): Pick<PipelineSpec, 'discern' | 'restart' | 'crashLoop'> {
  return {
    discern: {
      sampleBytes: P.sampleBytes,
      enrichProducer: false,
      replayChunks: P.replayChunks,
      replayBytes: 0,
      maxBytesPerSec: 0,
    },
    restart: {
      restartOnFailure: false,
      backoffMsInitial: P.backoffMsInitial,
      backoffMsMax: P.backoffMsMax,
      restartMax: 0,
      resetAfterMs: P.resetAfterMs,
    },
    crashLoop: { deathsMax: P.crashLoopDeathsMax, windowMs: P.crashLoopWindowMs },
  };
}

/** A command's defaults (contract §4), for what the request leaves out. */
export const COMMAND_DEFAULTS = {
  backoffMs: P.backoffMsInitial,
  backoffMsMax: P.backoffMsMax,
  crashLoopMax: P.crashLoopDeathsMax,
  crashLoopWindowMs: P.crashLoopWindowMs,
} as const;

/** A command spec with every default filled in, then `over` on top (restart wins). */
export function commandSpec(over: Partial<CommandSpec> & Pick<CommandSpec, 'exec'>): CommandSpec {
  const restart = over.restart ?? (over.restartOnFailure ? 'on-failure' : 'no');
  return {
    argv: [],
    envp: [],
    cwd: '',
    label: '',
    ...COMMAND_DEFAULTS,
    ready: 'exec',
    readyTimeoutMs: 0,
    watchdogMs: 0,
    dependsOn: [],
    user: '',
    group: '',
    ...over,
    restart,
    restartOnFailure: restart !== 'no',
  };
}
