/**
 * Control of one command and one pipeline (contract §7): stop, remove, restart, and
 * pipelines addressed by label wherever an id is accepted.
 *
 *   POST   /v1/workspaces/:ws/commands/:cmd/stop    {graceMs?}   → {reaped}
 *   DELETE /v1/workspaces/:ws/commands/:cmd?grace=MS              → {removed: id}
 *   POST   /v1/pipelines/:id/restart                              → PipelineView
 *
 * The engine methods are declared here as optional (`CommandControl`): a daemon whose engine
 * lacks one answers 503 `unavailable` naming it, never a silent no-op.
 */

import type { ApiResult, PipelineView, Supervisor } from '../../core/engine/api.js';
import { HttpError, optNonNegInt, queryInt, readJsonBody, unwrap } from './http-util.js';
import type { Ctx, Router } from './router.js';
import { graceMsDefault } from './routes-workspaces.js';

type Maybe<T> = T | Promise<T>;

/** The engine's per-command and per-pipeline control, by the names of the Supervisor API. */
export interface CommandControl {
  stopCommand(ref: string, cmd: string, graceMs: number): Promise<ApiResult<{ reaped: number }>>;
  removeCommand(ref: string, cmd: string, graceMs: number): Promise<ApiResult<true>>;
  restartPipeline(ref: string): Maybe<ApiResult<PipelineView>>;
}

export type ControlSupervisor = Supervisor & Partial<CommandControl>;

/** The method, or a 503 that names it. */
export function engineMethod<K extends keyof CommandControl>(
  supervisor: Supervisor,
  name: K,
): CommandControl[K] {
  const method = (supervisor as ControlSupervisor)[name];
  if (typeof method !== 'function') {
    throw new HttpError(503, {
      code: 'unavailable',
      message: `this daemon's engine has no ${name}: upgrade the daemon`,
    });
  }
  return method.bind(supervisor) as CommandControl[K];
}

/**
 * A pipeline id, from an id or a label: an exact id wins; a label must be unique among the
 * pipelines that are not stopped, else 409 listing the ids (404 when nothing matches).
 */
export function resolvePipelineRef(supervisor: Supervisor, ref: string): string {
  const all = supervisor.listPipelines();
  if (all.some((p) => p.id === ref)) return ref;
  const named = all.filter((p) => p.label === ref);
  const live = named.filter((p) => p.state !== 'stopped');
  const candidates = live.length > 0 ? live : named;
  if (candidates.length === 1) return candidates[0]!.id;
  if (candidates.length === 0) return ref; // The engine's own not_found names it.
  const ids = candidates.map((p) => `${p.id} (${p.state})`).join(', ');
  throw new HttpError(409, {
    code: 'conflict',
    message: `pipeline label "${ref}" is ambiguous: ${ids}; use an id`,
    field: 'pipeline',
  });
}

export function addControlRoutes(router: Router): void {
  router
    .add('POST', '/v1/workspaces/:ws/commands/:cmd/stop', async (ctx) => {
      const body = await readJsonBody(ctx.req);
      const graceMs = optNonNegInt(body, 'graceMs', graceMsDefault);
      const stop = engineMethod(ctx.deps.supervisor, 'stopCommand');
      return unwrap(await stop(p(ctx, 'ws'), p(ctx, 'cmd'), graceMs));
    })
    .add('DELETE', '/v1/workspaces/:ws/commands/:cmd', async (ctx) => {
      const graceMs = queryInt(ctx.query, 'grace', graceMsDefault) ?? graceMsDefault;
      const { supervisor } = ctx.deps;
      const view = unwrap(supervisor.getCommand(p(ctx, 'ws'), p(ctx, 'cmd')));
      const remove = engineMethod(supervisor, 'removeCommand');
      unwrap(await remove(p(ctx, 'ws'), view.id, graceMs));
      return { removed: view.id, label: view.label };
    })
    .add('POST', '/v1/pipelines/:id/restart', async (ctx) => {
      const { supervisor } = ctx.deps;
      const id = resolvePipelineRef(supervisor, p(ctx, 'id'));
      const restart = engineMethod(supervisor, 'restartPipeline');
      return unwrap(await restart(id));
    });
}

function p(ctx: Ctx, name: string): string {
  return ctx.params[name] ?? '';
}
