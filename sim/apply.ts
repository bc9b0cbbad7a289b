/**
 * The `apply` operation: a file naming a few services of one workspace is planned by the
 * daemon's own planner (core/apply/plan.ts) against the daemon's own view of what runs
 * (core/apply/live.ts), and its service actions are carried out through the Supervisor API
 * as the control adapter does (start; replace = remove, then start; restart), each
 * awaited while simulated time moves.
 *
 * Two invariants (failure class `apply`):
 * - idempotent: once an apply has done every action, planning the same file again asks
 *   for nothing but restarts of services that are not running (exited one-shots, given
 *   up) — never a replace (the file and what runs disagree after all) nor a start of a
 *   label that is listed;
 * - reconcile across a crash: when the daemon dies in the middle of an apply (a fault in
 *   one of its writes or spawns), the file is applied again to the restored daemon, as an
 *   operator would, and the same must then hold, with at most one live command per label.
 */

import { liveOf, running } from '../core/apply/live.js';
import type { ApplyAction } from '../core/apply/plan.js';
import { describeAction, planApply } from '../core/apply/plan.js';
import { commandSpecOf, serviceOf } from '../core/apply/service.js';
import type { ApiResult } from '../core/engine/api.js';
import type { ApplyDocument } from '../core/manifest/apply.js';
import { commandSpec as defaultCommandSpec } from '../core/manifest/defaults.js';
import type { CommandSpec } from '../core/manifest/types.js';
import type { WsFact } from './model.js';
import { cover, markStop, note, pick, REFUSED_UP_FRONT, trackStop } from './op-support.js';
import { commandFact } from './ops.js';
import type { SeedRun } from './seed.js';
import { ViolationError } from './seed.js';
import { APPLY_BEHAVIOURS, type Op } from './workload.js';

type ApplyOp = Extract<Op, { kind: 'apply' }>;
type Outcome = 'done' | 'crashed' | 'refused';

/** How long one awaited action may take: the remove grace, SIGKILL, and slack. */
const ACTION_BUDGET_MS = 10_000;
const REMOVE_GRACE_MS = 500;
const LIVE_STATES = new Set(['waiting', 'starting', 'running', 'backoff', 'crash-loop']);

export async function executeApply(run: SeedRun, op: ApplyOp): Promise<void> {
  const ws = pick(run.model.workspaces, op.ws);
  if (ws === undefined) return;
  const doc = applyDocument(ws.spec.label, op);
  const first = await reconcile(run, doc, ws);
  if (first === 'done') {
    converged(run, doc, ws, 'a second apply of the same file');
    return;
  }
  if (first !== 'crashed') return;
  cover(run, 'applies interrupted by a crash');
  await run.restore();
  if ((await reconcile(run, doc, ws)) !== 'done') return;
  converged(run, doc, ws, 'after a crash mid-apply and a second apply, one more apply');
}

function applyDocument(workspace: string, op: ApplyOp): ApplyDocument {
  const services = op.services.map((s) => {
    const b = APPLY_BEHAVIOURS[s.behaviour % APPLY_BEHAVIOURS.length]!;
    const spec = defaultCommandSpec({
      exec: b.exec,
      argv: [...b.argv],
      label: `svc${s.label}`,
      restart: s.restart,
    });
    return serviceOf(workspace, spec);
  });
  return { workspaces: [], services, pipelines: [], workers: [] };
}

async function reconcile(run: SeedRun, doc: ApplyDocument, ws: WsFact): Promise<Outcome> {
  const gen = run.gen;
  const planned = planApply(doc, liveOf(run.sup), { prune: false });
  if (!planned.ok) return 'refused'; // the workspace is gone: the file names nothing live
  run.world.trace.add(
    () => `  apply plan: ${planned.value.actions.map(describeAction).join('; ')}`,
  );
  for (const action of planned.value.actions) {
    const ok = await runAction(run, action, ws);
    if (!run.world.isAlive(gen)) return 'crashed';
    if (!ok) return 'refused';
  }
  return 'done';
}

async function runAction(run: SeedRun, action: ApplyAction, ws: WsFact): Promise<boolean> {
  switch (action.kind) {
    case 'start-service':
      return start(run, ws, commandSpecOf(action.spec));
    case 'replace-service':
      if (!(await remove(run, ws, action.id))) return false;
      return start(run, ws, commandSpecOf(action.spec));
    case 'restart-service':
      return restart(run, ws, action.id);
    default:
      throw new ViolationError('apply', `the planner asked for ${action.kind} without prune`);
  }
}

function start(run: SeedRun, ws: WsFact, spec: CommandSpec): boolean {
  const ackWrite = run.world.store.writes.length;
  const result = run.sup.runCommand(ws.id, spec);
  note(run, `apply: start ${spec.label}`, result);
  if (!result.ok) return false;
  run.model.addKey(commandFact(result.value.id, ws.id, spec, { gen: run.gen, ackWrite }));
  return true;
}

async function remove(run: SeedRun, ws: WsFact, id: string): Promise<boolean> {
  const fact = run.model.keys.get(id);
  const gen = run.gen;
  const undo = fact ? markStop(run, fact, REMOVE_GRACE_MS) : () => {};
  const promise = run.sup.removeCommand(ws.id, id, REMOVE_GRACE_MS);
  let result: ApiResult<unknown> | null = null;
  trackStop(run, `apply: remove ${id}`, REMOVE_GRACE_MS, promise, (ok) => {
    if (ok && fact) fact.stopDoneAtMs = run.world.clock.nowMs();
    else if (!ok && run.world.isAlive(gen)) undo();
  });
  promise.then((r) => {
    result = r;
  });
  await settle(run, gen, () => result !== null);
  return (result as ApiResult<unknown> | null)?.ok === true;
}

async function restart(run: SeedRun, ws: WsFact, id: string): Promise<boolean> {
  const fact = run.model.keys.get(id);
  const gen = run.gen;
  const seq = run.world.kernel.seq;
  fact?.operatorRestartSeqs.push(seq);
  let result: ApiResult<unknown> | null = null;
  run.sup.restartCommand(ws.id, id).then(
    (r) => {
      result = r;
      note(run, `apply: restart ${id}`, r);
    },
    (error: unknown) => {
      run.deferred ??= new ViolationError('engine-threw', `apply restart rejected: ${error}`);
    },
  );
  await settle(run, gen, () => result !== null);
  const r = result as ApiResult<unknown> | null;
  const refused = r !== null && !r.ok && REFUSED_UP_FRONT.has(r.error.code);
  if (refused && run.world.isAlive(gen) && fact) {
    fact.operatorRestartSeqs.splice(fact.operatorRestartSeqs.lastIndexOf(seq), 1);
  }
  return r?.ok === true;
}

/** Let promises run, then move simulated time until `done` or the daemon died. */
async function settle(run: SeedRun, gen: number, done: () => boolean): Promise<void> {
  const over = () => done() || !run.world.isAlive(gen);
  for (let i = 0; i < 3 && !over(); i++) await new Promise((r) => setImmediate(r));
  if (over()) return;
  const settled = await run.advanceUntil(ACTION_BUDGET_MS, over);
  if (!settled) {
    throw new ViolationError(
      'liveness',
      `an apply action did not settle in ${ACTION_BUDGET_MS} ms`,
    );
  }
}

/** The idempotence invariant, at the instant the apply finished. */
function converged(run: SeedRun, doc: ApplyDocument, ws: WsFact, what: string): void {
  const planned = planApply(doc, liveOf(run.sup), { prune: false });
  if (!planned.ok) return;
  const listed = run.sup.listCommands(ws.id);
  const commands = listed.ok ? listed.value : [];
  for (const service of doc.services) {
    const live = commands.filter((c) => c.label === service.label && LIVE_STATES.has(c.state));
    if (live.length > 1) {
      const ids = live.map((c) => c.id).join(', ');
      throw new ViolationError('apply', `service ${service.label} runs twice (${ids}) after apply`);
    }
  }
  for (const action of planned.value.actions) {
    if (action.kind === 'restart-service') {
      const now = commands.find((c) => c.id === action.id);
      if (now === undefined || !running(now)) {
        cover(run, 'apply again restarts only what stopped');
        continue;
      }
    }
    if (action.kind === 'start-service' && !commands.some((c) => c.label === action.label)) {
      cover(run, 'apply again restarts only what stopped'); // an exited one-shot, evicted
      continue;
    }
    throw new ViolationError('apply', `${what} would ${describeAction(action)}`);
  }
  cover(run, 'applies converged');
}
