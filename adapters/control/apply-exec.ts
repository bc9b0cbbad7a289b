/**
 * Executes an apply plan (core/apply/plan.ts) against the Supervisor API, action by action
 * in plan order. A service with `depends_on` is started once each dependency is ready
 * (`running`, or exited 0 for a one-shot step), waiting at most the dependency's
 * `ready_timeout_ms` (or `dependencyWaitMsDefault` when it sets none). The first failure
 * stops the run: the error names the action and how many were done before it.
 */

import type { ApplyAction, ApplyPlan, LiveWorker } from '../../core/apply/plan.js';
import { commandSpecOf } from '../../core/apply/service.js';
import type { ApiResult, CommandView, Supervisor } from '../../core/engine/api.js';
import type { ApplyPipeline, ServiceSpec, WorkerDecl } from '../../core/manifest/apply.js';
import { HttpError, statusFor } from './http-util.js';
import { engineMethod } from './routes-control.js';

/** What the worker subsystem offers apply; absent until a daemon wires it in. */
export interface ApplyWorkerHook {
  /** Workers that exist, with `workerSignature` of what they run. */
  list(): LiveWorker[];
  create(worker: WorkerDecl, workspaceId: string): Promise<void>;
  remove(name: string): Promise<void>;
}

export const dependencyWaitMsDefault = 30_000;
const removeGraceMs = 1000;
const pollMs = 5;

export interface ApplyStepResult {
  action: string;
  /** The id of what was started or replaced, when there is one. */
  id?: string;
  pid?: number | null;
}

class StepError extends Error {
  constructor(
    readonly status: number,
    readonly code: 'invalid' | 'not_found' | 'conflict' | 'spawn_failed' | 'unavailable',
    message: string,
  ) {
    super(message);
  }
}

function ok<T>(result: ApiResult<T>): T {
  if (result.ok) return result.value;
  throw new StepError(statusFor(result.error.code), result.error.code, result.error.message);
}

export async function executePlan(
  supervisor: Supervisor,
  plan: ApplyPlan,
  hook: ApplyWorkerHook | undefined,
): Promise<ApplyStepResult[]> {
  const wsIds = new Map(
    supervisor
      .listWorkspaces()
      .filter((w) => w.state !== 'stopped')
      .map((w) => [w.label, w.id]),
  );
  preflight(supervisor, plan, hook);
  const results: ApplyStepResult[] = [];
  const total = plan.actions.length;
  for (let at = 0; at < total; ) {
    const batch = startBatch(supervisor, plan.actions, at);
    if (batch.length > 1) {
      await runBatch(supervisor, batch, wsIds, results, total);
      at += batch.length;
      continue;
    }
    const action = plan.actions[at] as ApplyAction;
    try {
      results.push(await runAction(supervisor, action, wsIds, hook));
    } catch (error) {
      throw stepFailure(error, action, results.length, total);
    }
    at += 1;
  }
  return results;
}

type StartService = Extract<ApplyAction, { kind: 'start-service' }>;

/**
 * The `start-service` actions from `at` on that can start together: same workspace, none
 * depending on another of them (one dependency level). Empty when the engine cannot run
 * several at once or `at` is not a start.
 */
function startBatch(sup: Supervisor, actions: ApplyAction[], at: number): StartService[] {
  if (typeof sup.runCommands !== 'function') return [];
  const batch: StartService[] = [];
  const labels = new Set<string>();
  for (const action of actions.slice(at)) {
    if (action.kind !== 'start-service') break;
    if (batch.length > 0 && action.workspace !== batch[0]?.workspace) break;
    if (action.spec.dependsOn.some((dep) => labels.has(dep))) break;
    batch.push(action);
    labels.add(action.label);
  }
  return batch;
}

/**
 * One dependency level under one durable write: dependencies are waited for first; the
 * engine admits all of the level or none. A spawn that failed stops the apply after the
 * level (the others of the level run, and are counted as done).
 */
async function runBatch(
  sup: Supervisor,
  batch: StartService[],
  wsIds: Map<string, string>,
  results: ApplyStepResult[],
  total: number,
): Promise<void> {
  const first = batch[0] as StartService;
  const ws = wsId(wsIds, first.workspace);
  let views: ApiResult<CommandView>[];
  try {
    for (const action of batch) await waitForDependencies(sup, ws, action.spec);
    const runCommands = sup.runCommands?.bind(sup) as NonNullable<Supervisor['runCommands']>;
    views = ok(
      runCommands(
        ws,
        batch.map((a) => commandSpecOf(a.spec)),
      ),
    );
  } catch (error) {
    throw stepFailure(error, first, results.length, total);
  }
  let failed: { action: StartService; error: unknown } | null = null;
  batch.forEach((action, i) => {
    try {
      const view = ok(views[i] as ApiResult<CommandView>);
      results.push({ action: action.kind, id: view.id, pid: view.pid });
    } catch (error) {
      failed ??= { action, error };
    }
  });
  if (failed !== null) {
    const { action, error } = failed;
    throw stepFailure(error, action, results.length, total);
  }
}

/** What the plan needs that the daemon lacks is refused before the first action. */
function preflight(sup: Supervisor, plan: ApplyPlan, hook: ApplyWorkerHook | undefined): void {
  const kinds = new Set(plan.actions.map((a) => a.kind));
  try {
    if (kinds.has('remove-service') || kinds.has('replace-service')) {
      engineMethod(sup, 'removeCommand');
    }
    const workers = ['remove-worker', 'create-worker', 'replace-worker'] as const;
    if (workers.some((k) => kinds.has(k))) needHook(hook);
  } catch (error) {
    if (!(error instanceof HttpError)) throw error;
    const message = `${error.apiError.message} (nothing applied)`;
    throw new HttpError(error.status, { ...error.apiError, message });
  }
}

function stepFailure(error: unknown, action: ApplyAction, done: number, total: number) {
  const what = `${action.kind} ${'label' in action ? action.label : ''}`.trim();
  const cause = error instanceof Error ? error.message : String(error);
  const message = `apply stopped at ${what}: ${cause} (${done} of ${total} actions done)`;
  if (error instanceof StepError) return new HttpError(error.status, { code: error.code, message });
  if (error instanceof HttpError)
    return new HttpError(error.status, { ...error.apiError, message });
  return new HttpError(500, { code: 'spawn_failed', message });
}

function wsId(wsIds: Map<string, string>, label: string): string {
  return wsIds.get(label) ?? label; // A workspace outside the file: the engine resolves it.
}

async function runAction(
  sup: Supervisor,
  action: ApplyAction,
  wsIds: Map<string, string>,
  hook: ApplyWorkerHook | undefined,
): Promise<ApplyStepResult> {
  const line = action.kind;
  switch (action.kind) {
    case 'remove-service':
      await removeService(sup, wsId(wsIds, action.workspace), action.id);
      return { action: line, id: action.id };
    case 'remove-pipeline':
      ok(await sup.stopPipeline(action.id, removeGraceMs));
      return { action: line, id: action.id };
    case 'remove-worker':
      await needHook(hook).remove(action.name);
      return { action: line };
    case 'remove-workspace':
      ok(await sup.stopWorkspace(action.id, removeGraceMs));
      wsIds.delete(action.label);
      return { action: line, id: action.id };
    case 'create-workspace':
    case 'replace-workspace': {
      if (action.kind === 'replace-workspace')
        ok(await sup.stopWorkspace(action.id, removeGraceMs));
      const created = ok(sup.createWorkspace(action.spec));
      wsIds.set(action.label, created.id);
      return { action: line, id: created.id };
    }
    default:
      return runStartAction(sup, action, wsIds, hook);
  }
}

async function runStartAction(
  sup: Supervisor,
  action: ApplyAction,
  wsIds: Map<string, string>,
  hook: ApplyWorkerHook | undefined,
): Promise<ApplyStepResult> {
  const line = action.kind;
  switch (action.kind) {
    case 'start-service':
    case 'replace-service':
    case 'restart-service': {
      const ws = wsId(wsIds, action.workspace);
      await waitForDependencies(sup, ws, action.spec);
      const view = await startService(sup, ws, action);
      return { action: line, id: view.id, pid: view.pid };
    }
    case 'start-pipeline':
    case 'replace-pipeline': {
      if (action.kind === 'replace-pipeline') ok(await sup.stopPipeline(action.id, removeGraceMs));
      const view = ok(
        sup.runPipeline(pipelineSpec(action.pipeline, wsIds), runOptions(action.pipeline)),
      );
      return { action: line, id: view.id };
    }
    case 'create-worker':
    case 'replace-worker': {
      const h = needHook(hook);
      if (action.kind === 'replace-worker') await h.remove(action.worker.name);
      await h.create(action.worker, wsId(wsIds, action.worker.workspace));
      return { action: line };
    }
    default:
      throw new Error(`apply: unexpected action ${action.kind}`);
  }
}

async function startService(
  sup: Supervisor,
  ws: string,
  action: Extract<ApplyAction, { spec: ServiceSpec }>,
): Promise<CommandView> {
  if (action.kind === 'restart-service') {
    // Sync today, a Promise once the engine restarts by stop-then-spawn: await both.
    return ok(await sup.restartCommand(ws, action.id));
  }
  if (action.kind === 'replace-service') await removeService(sup, ws, action.id);
  return ok(sup.runCommand(ws, commandSpecOf(action.spec)));
}

async function removeService(sup: Supervisor, ws: string, id: string): Promise<void> {
  const remove = engineMethod(sup, 'removeCommand');
  ok(await remove(ws, id, removeGraceMs));
}

function pipelineSpec(p: ApplyPipeline, wsIds: Map<string, string>) {
  return { ...p.spec, workspace: wsId(wsIds, p.spec.workspace) };
}

function runOptions(p: ApplyPipeline) {
  return { tap: false, source: p.source, vars: p.vars };
}

function needHook(hook: ApplyWorkerHook | undefined): ApplyWorkerHook {
  if (hook !== undefined) return hook;
  throw new HttpError(503, { code: 'unavailable', message: 'this daemon has no worker support' });
}

/** Resolves once every dependency of `spec` is ready; throws when one fails or times out. */
async function waitForDependencies(sup: Supervisor, ws: string, spec: ServiceSpec) {
  for (const dep of spec.dependsOn) {
    const first = ok(sup.getCommand(ws, dep));
    const waitMs = first.spec.ready === 'notify' ? readyTimeoutOf(first) : 0;
    const until = performance.now() + (waitMs > 0 ? waitMs : dependencyWaitMsDefault);
    for (;;) {
      const view = ok(sup.getCommand(ws, dep));
      if (isReady(view)) break;
      if (isDead(view) || performance.now() > until) {
        const why = isDead(view) ? `is ${view.state}` : 'did not become ready in time';
        throw new StepError(409, 'conflict', `dependency "${dep}" of "${spec.label}" ${why}`);
      }
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  }
}

function readyTimeoutOf(view: CommandView): number {
  const value = (view.spec as unknown as Record<string, unknown>).readyTimeoutMs;
  return typeof value === 'number' ? value : 0;
}

function isReady(view: CommandView): boolean {
  return view.state === 'running' || (view.state === 'exited' && view.exit?.status === 0);
}

function isDead(view: CommandView): boolean {
  return view.state === 'crash-loop' || view.state === 'gave-up' || view.state === 'exited';
}
