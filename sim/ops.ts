/**
 * Turns symbolic workload operations into Supervisor API calls and records what was
 * acknowledged in the model. Specs are built directly (the validated types); pipelines
 * also carry their TOML source so the engine can relaunch them after a restore.
 */

import type { Supervisor } from '../core/engine/api.js';
import { commandSpec as defaultCommandSpec, noNamespaces } from '../core/manifest/defaults.js';
import type {
  CommandSpec,
  PipelineSpec,
  RestartPolicy,
  WorkspaceSpec,
} from '../core/manifest/types.js';
import type { KeyFact, Model } from './model.js';
import { pipelineToml } from './toml.js';
import type { Behaviour, Op, PipelinePolicyOp } from './workload.js';

/** contract §2/§4: a command's run that lasts this long clears its backoff tally. */
export const COMMAND_RESET_AFTER_MS = 10_000;

/**
 * A command's restart policy as its spec states it: backoff and crash-loop settings are
 * per command (restart_max is for pipelines only); restart = "always" is `always`.
 */
export function commandPolicyOf(spec: CommandSpec): RestartPolicy {
  return {
    restartOnFailure: spec.restart !== 'no',
    backoffMsInitial: spec.backoffMs,
    backoffMsMax: spec.backoffMsMax,
    restartMax: 0,
    resetAfterMs: COMMAND_RESET_AFTER_MS,
  };
}

export function workspaceSpec(op: Extract<Op, { kind: 'create-ws' }>, n: number): WorkspaceSpec {
  return {
    label: `ws${n}`,
    onExit: 'reap',
    ttlMs: op.ttlMs,
    rlimits: { memBytes: op.memBytes, nproc: op.nproc, nofile: 0 },
    namespaces: noNamespaces(),
    cgroupPath: op.cgroup ? `shipote/ws${n}` : '',
    quotaEnforce: { mem: op.enforceMem, nproc: op.enforceNproc },
  };
}

export function commandSpec(op: Extract<Op, { kind: 'run' }>): CommandSpec {
  return defaultCommandSpec({
    exec: op.behaviour.exec,
    argv: [...op.behaviour.argv],
    restart: op.restart ? (op.always === true ? 'always' : 'on-failure') : 'no',
    ready: op.notify ? 'notify' : 'exec',
    readyTimeoutMs: op.notify ? op.readyTimeoutMs : 0,
    watchdogMs: op.watchdogMs,
  });
}

export function pipelineSpec(
  label: string,
  workspace: string,
  nodes: Behaviour[],
  policy: PipelinePolicyOp,
): PipelineSpec {
  return {
    label,
    workspace,
    discern: {
      sampleBytes: 64,
      enrichProducer: true,
      replayChunks: 32,
      replayBytes: 0,
      maxBytesPerSec: 0,
    },
    nodes: nodes.map((b, i) => ({
      label: `n${i}`,
      payload: { exec: b.exec, argv: [...b.argv], envp: [] },
    })),
    edges: nodes.slice(1).map((_, i) => ({
      from: i,
      fromOutput: 'stdout' as const,
      to: i + 1,
      toInput: 'stdin' as const,
    })),
    restart: {
      restartOnFailure: policy.supervised,
      backoffMsInitial: policy.backoffMsInitial,
      backoffMsMax: policy.backoffMsMax,
      restartMax: policy.restartMax,
      resetAfterMs: policy.resetAfterMs,
    },
    crashLoop: { deathsMax: policy.deathsMax, windowMs: policy.windowMs },
  };
}

export function savedSource(n: number, nodes: Behaviour[]): string {
  const policy: PipelinePolicyOp = {
    supervised: false,
    backoffMsInitial: 200,
    backoffMsMax: 30_000,
    restartMax: 0,
    resetAfterMs: 10_000,
    deathsMax: 3,
    windowMs: 300_000,
  };
  // A saved pipeline names its workspace through a template, filled at run-saved time.
  const workspaceTemplate = ['$', '{WS}'].join('');
  return pipelineToml(pipelineSpec(`saved${n}`, workspaceTemplate, nodes, policy));
}

/** The model's fact for a command the engine acknowledged, all read from its spec. */
export function commandFact(
  key: string,
  wsId: string,
  spec: CommandSpec,
  at: { gen: number; ackWrite: number },
): KeyFact {
  return newKeyFact({
    key,
    kind: 'command',
    wsId,
    supervised: spec.restart !== 'no',
    watchdogMs: spec.watchdogMs,
    readyNotify: spec.ready === 'notify',
    readyTimeoutMs: spec.readyTimeoutMs,
    policy: commandPolicyOf(spec),
    always: spec.restart === 'always',
    crashLoop: { deathsMax: spec.crashLoopMax, windowMs: spec.crashLoopWindowMs },
    ...at,
  });
}

export function newKeyFact(
  base: Pick<
    KeyFact,
    'key' | 'kind' | 'wsId' | 'supervised' | 'policy' | 'crashLoop' | 'gen' | 'ackWrite'
  > & { watchdogMs?: number; readyNotify?: boolean; readyTimeoutMs?: number; always?: boolean },
): KeyFact {
  return {
    watchdogMs: 0,
    readyNotify: false,
    always: false,
    readyTimeoutMs: 0,
    ...base,
    stopAtMs: null,
    stopGen: null,
    stopSeq: 0,
    stopGraceMs: 0,
    stopDoneAtMs: null,
    operatorRestartSeqs: [],
  };
}

export type { Model, Supervisor };
