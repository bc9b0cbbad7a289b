/** Executes one workload operation against the running daemon and records what it acknowledged. */

import type { Supervisor } from '../core/engine/api.js';
import type { CommandSpec, CrashLoopPolicy, PipelineSpec } from '../core/manifest/types.js';
import { executeApply } from './apply.js';
import { markStop, note, pick, REFUSED_UP_FRONT, trackStop } from './op-support.js';
import {
  commandFact,
  commandSpec,
  newKeyFact,
  pipelineSpec,
  savedSource,
  workspaceSpec,
} from './ops.js';
import type { SeedRun } from './seed.js';
import { ViolationError } from './seed.js';
import { pipelineToml } from './toml.js';
import { executeWorkerOp } from './workers.js';
import type { Op } from './workload.js';

type Exec<K extends Op['kind']> = (
  run: SeedRun,
  op: Extract<Op, { kind: K }>,
) => void | Promise<void>;

const createWs: Exec<'create-ws'> = (run, op) => {
  const n =
    op.reuseLabel === null || run.wsCreated === 0 ? run.wsCreated++ : op.reuseLabel % run.wsCreated;
  const spec = workspaceSpec(op, n);
  const ackWrite = run.world.store.writes.length;
  const createSeq = run.world.kernel.seq;
  const cgroupCreatesBefore = run.world.cgroups.created.length;
  const result = run.sup.createWorkspace(spec);
  note(run, `create ws${n}`, result);
  if (!result.ok) return;
  run.model.addWorkspace({
    index: run.model.workspaces.length,
    id: result.value.id,
    spec,
    gen: run.gen,
    createdAtMs: run.world.clock.nowMs(),
    createSeq,
    cgroupCreatesBefore,
    ackWrite,
    stopAtMs: null,
    stopGen: null,
    stopSeq: 0,
    stopGraceMs: 0,
    stopDoneAtMs: null,
  });
};

/** One command, alone or as a batch of one (the same admission and write-through path). */
function runOne(sup: Supervisor, wsId: string, spec: CommandSpec, batch: boolean) {
  if (!batch || !sup.runCommands) return sup.runCommand(wsId, spec);
  const views = sup.runCommands(wsId, [spec]);
  if (!views.ok) return views;
  const [view] = views.value;
  if (!view) throw new ViolationError('contract', 'runCommands answered no view for one spec');
  return view;
}

const runCommand: Exec<'run'> = (run, op) => {
  const ws = pick(run.model.workspaces, op.ws);
  if (ws === undefined) return;
  const ackWrite = run.world.store.writes.length;
  const spec = commandSpec(op);
  const result = runOne(run.sup, ws.id, spec, run.commandsRun++ % 2 === 1);
  note(run, `run in ${ws.spec.label}`, result);
  if (result.ok && !op.behaviour.exec.startsWith('sim:')) {
    throw new ViolationError('contract', `running missing exec ${op.behaviour.exec} returned ok`);
  }
  if (!result.ok) return;
  run.model.addKey(commandFact(result.value.id, ws.id, spec, { gen: run.gen, ackWrite }));
};

/**
 * The crash-loop limit the engine enforces (restated here, not imported): never below
 * restart_max, so a bounded policy reaches its give-up; a guard that is off stays off.
 */
function crashLoopInForce(spec: PipelineSpec): CrashLoopPolicy {
  const { deathsMax } = spec.crashLoop;
  const { restartMax } = spec.restart;
  if (deathsMax === 0 || restartMax <= deathsMax) return spec.crashLoop;
  return { ...spec.crashLoop, deathsMax: restartMax };
}

const runPipeline: Exec<'run-pipeline'> = (run, op) => {
  const ws = pick(run.model.workspaces, op.ws);
  if (ws === undefined) return;
  const spec = pipelineSpec(`p${run.pipelinesRun++}`, ws.id, op.nodes, op.policy);
  const ackWrite = run.world.store.writes.length;
  const result = run.sup.runPipeline(spec, { tap: op.tap, source: pipelineToml(spec), vars: {} });
  note(run, `pipeline ${spec.label} in ${ws.spec.label}`, result);
  if (result.ok && op.nodes.some((b) => !b.exec.startsWith('sim:'))) {
    throw new ViolationError('contract', `pipeline ${spec.label} with a missing exec returned ok`);
  }
  if (!result.ok) return;
  run.model.addKey(
    newKeyFact({
      key: result.value.id,
      kind: 'pipeline',
      wsId: ws.id,
      supervised: op.policy.supervised,
      policy: spec.restart,
      crashLoop: crashLoopInForce(spec),
      gen: run.gen,
      ackWrite,
    }),
  );
};

const stopWs: Exec<'stop-ws'> = (run, op) => {
  const ws = pick(run.model.workspaces, op.ws);
  if (ws === undefined) return;
  const gen = run.gen;
  // A refusal undoes the stop, unless the daemon died inside the call: then the stop may
  // have reached the disk (crash after the rename) and nothing can be expected of it.
  const undo = markStop(run, ws, op.graceMs);
  const promise = run.sup.stopWorkspace(ws.id, op.graceMs);
  trackStop(run, `stop ${ws.spec.label} grace=${op.graceMs}`, op.graceMs, promise, (ok) => {
    if (ok) ws.stopDoneAtMs = run.world.clock.nowMs();
    else if (run.world.isAlive(gen)) undo();
  });
};

const stopPipeline: Exec<'stop-pipeline'> = (run, op) => {
  const fact = pick(run.model.pipelines, op.pipeline);
  if (fact === undefined) return;
  const gen = run.gen;
  const undo = markStop(run, fact, op.graceMs);
  const promise = run.sup.stopPipeline(fact.key, op.graceMs);
  trackStop(run, `stop pipeline ${fact.key} grace=${op.graceMs}`, op.graceMs, promise, (ok) => {
    if (ok) fact.stopDoneAtMs = run.world.clock.nowMs();
    else if (run.world.isAlive(gen)) undo();
  });
};

const savePipeline: Exec<'save-pipeline'> = (run, op) => {
  const name = `saved${op.name}`;
  const savedWrite = run.world.store.writes.length;
  const source = savedSource(op.name, op.nodes);
  const result = run.sup.savePipeline(name, source);
  note(run, `save ${name}`, result);
  const fact = run.model.saved.get(name);
  if (result.ok) {
    run.model.saved.set(name, { name, source, savedWrite, droppedWrite: null, uncertain: false });
  } else if (fact !== undefined && !run.world.isAlive(run.gen)) {
    fact.uncertain = true; // died mid-write: the new source may or may not be on disk
  }
};

const dropPipeline: Exec<'drop-pipeline'> = (run, op) => {
  const name = `saved${op.name}`;
  const droppedWrite = run.world.store.writes.length;
  const result = run.sup.dropSavedPipeline(name);
  note(run, `drop ${name}`, result);
  const fact = run.model.saved.get(name);
  if (fact === undefined) return;
  if (result.ok) fact.droppedWrite = droppedWrite;
  else if (!run.world.isAlive(run.gen)) fact.uncertain = true; // the drop may have landed
};

const restartCmd: Exec<'restart-cmd'> = (run, op) => {
  const fact = pick(run.model.commands, op.cmd);
  if (fact === undefined) return;
  const seq = run.world.kernel.seq;
  const gen = run.gen;
  fact.operatorRestartSeqs.push(seq);
  const what = `restart ${fact.key}`;
  run.sup.restartCommand(fact.wsId, fact.key).then(
    (result) => {
      note(run, what, result);
      // Refused up front by a daemon still alive (its snapshot write failed, rolled back; or
      // nothing to restart): no restart happened, the tally goes on.
      const refused = !result.ok && REFUSED_UP_FRONT.has(result.error.code);
      if (refused && run.world.isAlive(gen)) {
        fact.operatorRestartSeqs.splice(fact.operatorRestartSeqs.lastIndexOf(seq), 1);
      }
    },
    (error: unknown) => {
      run.deferred ??= new ViolationError('engine-threw', `${what} rejected: ${String(error)}`);
    },
  );
};

/** Budget for the shutdown to settle: the grace, the SIGKILL wait, and slack. */
const SHUTDOWN_SLACK_MS = 5000;

/** Graceful restart through the engine's shutdown; it must settle and leave nothing alive. */
const restartDaemon: Exec<'restart-daemon'> = async (run, op) => {
  const gen = run.gen;
  let settled = false;
  run.sup.shutdown(op.graceMs).then(
    () => {
      settled = true;
    },
    (error: unknown) => {
      run.deferred ??= new ViolationError('engine-threw', `shutdown rejected: ${String(error)}`);
    },
  );
  const done = () => settled || !run.world.isAlive(gen);
  await run.advanceUntil(op.graceMs + SHUTDOWN_SLACK_MS, done);
  if (!run.world.isAlive(gen)) return; // a fault crashed it meanwhile: restored already
  // The engine's own children (roots); their children go with the daemon (PDEATHSIG).
  const alive = [...run.world.kernel.live].filter((p) => p.gen === gen && p.pid === p.rootPid);
  if (!settled || alive.length > 0) {
    const pids = alive.map((p) => p.pid).join(' ');
    const message = `shutdown (grace ${op.graceMs}) settled=${settled}, alive: [${pids}]`;
    throw new ViolationError('liveness', message);
  }
  run.sup.close();
  await run.restore();
};

const EXECUTORS: { [K in Op['kind']]: Exec<K> } = {
  'create-ws': createWs,
  run: runCommand,
  'run-pipeline': runPipeline,
  'stop-ws': stopWs,
  'stop-pipeline': stopPipeline,
  'save-pipeline': savePipeline,
  'drop-pipeline': dropPipeline,
  'restart-cmd': restartCmd,
  apply: executeApply,
  crash: (run) => run.restore(),
  'restart-daemon': restartDaemon,
  advance: (run, op) => run.advance(op.ms),
  'create-worker': executeWorkerOp,
  'push-tasks': executeWorkerOp,
  'retry-dead': executeWorkerOp,
  'drop-worker': executeWorkerOp,
};

export function executeOp(run: SeedRun, op: Op): void | Promise<void> {
  return (EXECUTORS[op.kind] as Exec<Op['kind']>)(run, op);
}
