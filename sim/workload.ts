/**
 * Workload generator: one seed → a list of symbolic operations. Operations name
 * workspaces, commands and pipelines by creation index (resolved modulo what exists when
 * the operation runs), so any sub-list of operations is still a valid workload: that is
 * what lets the shrinker drop operations and replay the rest.
 */

import type { Prng } from './prng.js';
import {
  drawCreateWorker,
  drawDropWorker,
  drawPushTasks,
  drawRetryDead,
  type WorkerOp,
} from './workers.js';

export interface Behaviour {
  exec: string;
  argv: string[];
}

export interface PipelinePolicyOp {
  supervised: boolean;
  backoffMsInitial: number;
  backoffMsMax: number;
  restartMax: number;
  resetAfterMs: number;
  deathsMax: number;
  windowMs: number;
}

export type Op =
  | {
      kind: 'create-ws';
      ttlMs: number;
      memBytes: number;
      nproc: number;
      enforceMem: 'none' | 'log' | 'kill';
      enforceNproc: 'none' | 'log' | 'kill';
      cgroup: boolean;
      /** Reuse the label of an earlier workspace (index mod created): must conflict if live. */
      reuseLabel: number | null;
    }
  | {
      kind: 'run';
      ws: number;
      behaviour: Behaviour;
      restart: boolean;
      /** With restart: restart = "always" (a clean exit is restarted too). */
      always?: boolean;
      notify: boolean;
      watchdogMs: number;
      /** With notify: no READY=1 within this → killed as a failure (0 = none). */
      readyTimeoutMs: number;
    }
  | { kind: 'run-pipeline'; ws: number; nodes: Behaviour[]; policy: PipelinePolicyOp; tap: boolean }
  | { kind: 'stop-ws'; ws: number; graceMs: number }
  | { kind: 'stop-pipeline'; pipeline: number; graceMs: number }
  | { kind: 'save-pipeline'; name: number; nodes: Behaviour[] }
  | { kind: 'drop-pipeline'; name: number }
  | { kind: 'restart-cmd'; cmd: number }
  | { kind: 'crash' }
  /** Graceful: the engine's shutdown (flush, TERM, KILL after the grace), then it exits. */
  | { kind: 'restart-daemon'; graceMs: number }
  | { kind: 'advance'; ms: number }
  /** `shipote apply` of a file naming these services in the workspace (contract §7). */
  | { kind: 'apply'; ws: number; services: ApplyServiceOp[] }
  | WorkerOp;

/**
 * A service of an apply file: label `svc<label>` with behaviour `APPLY_BEHAVIOURS[behaviour]`.
 * Few labels and behaviours, so applies of the same file (nothing to do) and of a changed
 * one (replace) both come up often.
 */
export interface ApplyServiceOp {
  label: number;
  behaviour: number;
  restart: 'no' | 'on-failure' | 'always';
}

export const APPLY_BEHAVIOURS: readonly Behaviour[] = [
  { exec: 'sim:forever', argv: [] },
  { exec: 'sim:exit', argv: ['300', '1'] },
  { exec: 'sim:slow-term', argv: ['200'] },
  { exec: 'sim:fork', argv: ['2'] },
];

function drawApply(prng: Prng): Op {
  const labels = new Set(Array.from({ length: prng.range(1, 4) }, () => prng.int(4)));
  const services = [...labels].map((label) => ({
    label,
    behaviour: prng.pick([0, 0, 1, 2, 3]),
    restart: prng.pick(['on-failure', 'on-failure', 'always', 'no'] as const),
  }));
  return { kind: 'apply', ws: prng.int(64), services };
}

const MIB = 1 << 20;

/** A process behaviour for a command or a pipeline node. */
export function drawBehaviour(prng: Prng): Behaviour {
  const roll = prng.int(100);
  if (roll < 15) return { exec: 'sim:exit', argv: [String(prng.range(0, 300)), '0'] };
  if (roll < 35) {
    return { exec: 'sim:exit', argv: [String(prng.range(0, 2000)), String(prng.range(1, 3))] };
  }
  if (roll < 42) return { exec: 'sim:signal', argv: [String(prng.range(1, 3000)), 'SIGSEGV'] };
  if (roll < 55) return { exec: 'sim:forever', argv: [] };
  if (roll < 62) return { exec: 'sim:ignore-term', argv: [] };
  if (roll < 68) return { exec: 'sim:slow-term', argv: [String(prng.range(1, 3000))] };
  if (roll < 75) return { exec: 'sim:fork', argv: [String(prng.range(1, 4))] };
  if (roll < 78) return { exec: 'sim:exit', argv: [String(prng.range(5000, 40000)), '1'] };
  if (roll < 80) {
    // A run of exactly reset_after (10 s, or 60 s) clears the tally; a millisecond less does not.
    const runMs = prng.pick([9_999, 10_000, 10_000, 10_001, 60_000]);
    return { exec: 'sim:exit', argv: [String(runMs), '1'] };
  }
  if (roll < 85) return { exec: '/nonexistent/sim-binary', argv: [] };
  if (roll < 90) {
    return {
      exec: 'sim:notify',
      argv: [String(prng.range(0, 500)), String(prng.range(0, 300)), String(prng.range(0, 4000))],
    };
  }
  return { exec: 'sim:grow-mem', argv: [String(prng.range(1, 8) * 1024)] };
}

function drawCreateWs(prng: Prng): Op {
  const limitMem = prng.int(3) === 0;
  const limitProcs = prng.int(4) === 0;
  const enforce = ['none', 'log', 'kill'] as const;
  return {
    kind: 'create-ws',
    ttlMs: prng.int(4) === 0 ? prng.range(1000, 30000) : 0,
    memBytes: limitMem ? prng.range(2, 16) * MIB : 0,
    nproc: limitProcs ? prng.range(1, 6) : 0,
    enforceMem: prng.pick(enforce),
    enforceNproc: prng.pick(enforce),
    cgroup: prng.boolean(),
    reuseLabel: prng.int(8) === 0 ? prng.int(64) : null,
  };
}

function drawPolicy(prng: Prng): PipelinePolicyOp {
  const backoffMsInitial = prng.pick([50, 100, 200, 1000, 5000]);
  return {
    supervised: prng.int(3) !== 0,
    backoffMsInitial,
    backoffMsMax: backoffMsInitial * prng.pick([1, 2, 4, 10, 100]),
    restartMax: prng.pick([0, 0, 1, 2, 3, 5]),
    resetAfterMs: prng.pick([10000, 60000]),
    deathsMax: prng.pick([3, 5, 20, 100]),
    windowMs: prng.pick([10000, 300000]),
  };
}

function drawNodes(prng: Prng): Behaviour[] {
  const count = prng.range(1, 3);
  return Array.from({ length: count }, () => drawBehaviour(prng));
}

function drawRun(prng: Prng): Op {
  const op = {
    kind: 'run' as const,
    ws: prng.int(64),
    behaviour: drawBehaviour(prng),
    restart: prng.int(3) !== 0,
    notify: prng.int(4) === 0,
    watchdogMs: prng.int(4) === 0 ? prng.range(100, 1000) : 0,
    readyTimeoutMs: prng.pick([0, 0, 200, 1500]),
  };
  return op.restart && prng.int(5) === 0 ? { ...op, always: true } : op;
}

/**
 * A pipeline that fails like a metronome: a death exactly every windowMs / deathsMax, so its
 * (deathsMax + 1)-th death falls exactly one window after the first — the crash-loop
 * window's edge (a death exactly one window old no longer counts).
 */
function drawMetronome(prng: Prng): Op {
  const deathsMax = prng.pick([4, 5]);
  const periodMs = 10_000 / deathsMax;
  const backoffMs = prng.pick([500, 1000]);
  const policy: PipelinePolicyOp = {
    supervised: true,
    backoffMsInitial: backoffMs,
    backoffMsMax: backoffMs,
    restartMax: 0,
    resetAfterMs: 60_000,
    deathsMax,
    windowMs: 10_000,
  };
  const node = { exec: 'sim:exit', argv: [String(periodMs - backoffMs), '1'] };
  return { kind: 'run-pipeline', ws: prng.int(64), nodes: [node], policy, tap: false };
}

function drawRunPipeline(prng: Prng): Op {
  if (prng.int(6) === 0) return drawMetronome(prng);
  const tap = prng.boolean();
  return {
    kind: 'run-pipeline',
    ws: prng.int(64),
    nodes: drawNodes(prng),
    policy: drawPolicy(prng),
    tap,
  };
}

/** Each operation kind with its default weight (out of 100) and how to draw one. */
const OP_TABLE: [weight: number, draw: (prng: Prng) => Op][] = [
  [10, drawCreateWs],
  [25, drawRun],
  [10, drawRunPipeline],
  [
    5,
    (prng) => ({
      kind: 'stop-ws',
      ws: prng.int(64),
      graceMs: prng.pick([0, 100, 1000, prng.range(0, 3000)]),
    }),
  ],
  [
    4,
    (prng) => ({
      kind: 'stop-pipeline',
      pipeline: prng.int(64),
      graceMs: prng.pick([0, 500, 1000]),
    }),
  ],
  [3, (prng) => ({ kind: 'save-pipeline', name: prng.int(6), nodes: drawNodes(prng) })],
  [2, (prng) => ({ kind: 'drop-pipeline', name: prng.int(6) })],
  [3, (prng) => ({ kind: 'restart-cmd', cmd: prng.int(64) })],
  [4, drawApply],
  [2, () => ({ kind: 'crash' })],
  [1, (prng) => ({ kind: 'restart-daemon', graceMs: prng.pick([0, 300, 1000]) })],
  [3, drawCreateWorker],
  [8, drawPushTasks],
  [1, drawRetryDead],
  [1, drawDropWorker],
  [
    35,
    (prng) => ({
      kind: 'advance',
      ms: prng.pick([1, 10, 50, 200, 500, 1000, 2000, 5000, prng.range(1, 40000)]),
    }),
  ],
];

/**
 * Swarm over the workload too: half the seeds keep the default mix, the others draw
 * their own weights (0–3× each, some kinds switched off), so some seeds crash the daemon
 * every few steps and others never stop anything and let backoffs reach their caps.
 */
export function drawMix(prng: Prng): number[] {
  if (prng.boolean()) return OP_TABLE.map(([weight]) => weight);
  // create-ws and advance always stay on: without them nothing runs, or time never moves.
  return OP_TABLE.map(([weight], i) =>
    i === 0 || i === OP_TABLE.length - 1 ? weight : weight * prng.range(0, 3),
  );
}

/** One operation, drawn with the seed's mix of weights. */
export function drawOp(prng: Prng, mix: readonly number[]): Op {
  const total = mix.reduce((a, b) => a + b, 0);
  let roll = prng.int(total);
  for (let i = 0; i < OP_TABLE.length; i++) {
    const weight = mix[i] ?? 0;
    if (roll < weight) return OP_TABLE[i]![1](prng);
    roll -= weight;
  }
  throw new Error('drawOp: weights do not cover the roll');
}

/** The whole workload of a seed: starts with a workspace so early operations have one. */
export function generateWorkload(prng: Prng, length: number): Op[] {
  const mix = drawMix(prng);
  const ops: Op[] = [drawCreateWs(prng)];
  while (ops.length < length) ops.push(drawOp(prng, mix));
  return ops;
}

export function describeOp(op: Op): string {
  const { kind, ...rest } = op;
  return `${kind} ${JSON.stringify(rest)}`;
}
