/** /v1/pipelines (run, list, get, stop) and /v1/saved-pipelines (save, list, run, drop). */

import type { RunPipelineOptions } from '../../core/engine/api.js';
import { LIMITS } from '../../core/manifest/limits.js';
import {
  checkLabel,
  invalid,
  optBool,
  optNonNegInt,
  optString,
  optVars,
  overLimit,
  readJsonBody,
  unwrap,
} from './http-util.js';
import type { Ctx, Router } from './router.js';
import { graceMsDefault } from './routes-workspaces.js';

export function addPipelineRoutes(router: Router): void {
  router
    .add('POST', '/v1/pipelines', async (ctx) => {
      const body = await readJsonBody(ctx.req);
      const source = optString(body, 'source');
      if (source === undefined) throw invalid('source: expected the pipeline TOML', 'source');
      return runSource(ctx, source, optVars(body, 'vars'), optBool(body, 'tap'));
    })
    .add('GET', '/v1/pipelines', ({ deps }) => deps.supervisor.listPipelines())
    .add('GET', '/v1/pipelines/:id', ({ deps, params }) =>
      unwrap(deps.supervisor.getPipeline(params.id ?? '')),
    )
    .add('POST', '/v1/pipelines/:id/stop', async (ctx) => {
      const body = await readJsonBody(ctx.req);
      const graceMs = optNonNegInt(body, 'graceMs', graceMsDefault);
      return unwrap(await ctx.deps.supervisor.stopPipeline(ctx.params.id ?? '', graceMs));
    })
    .add('PUT', '/v1/saved-pipelines/:name', async (ctx) => {
      const body = await readJsonBody(ctx.req);
      checkLabel(ctx.params.name ?? '', 'name');
      const source = optString(body, 'source');
      if (source === undefined) throw invalid('source: expected the pipeline TOML', 'source');
      checkSource(ctx, source, {});
      checkSavedRoom(ctx, ctx.params.name ?? '', source);
      return unwrap(ctx.deps.supervisor.savePipeline(ctx.params.name ?? '', source));
    })
    .add('GET', '/v1/saved-pipelines', ({ deps }) => deps.supervisor.listSavedPipelines())
    .add('GET', '/v1/saved-pipelines/:name', ({ deps, params }) =>
      unwrap(deps.supervisor.getSavedPipeline(params.name ?? '')),
    )
    .add('POST', '/v1/saved-pipelines/:name/run', async (ctx) => {
      const body = await readJsonBody(ctx.req);
      const saved = unwrap(ctx.deps.supervisor.getSavedPipeline(ctx.params.name ?? ''));
      return runSource(ctx, saved.source, optVars(body, 'vars'), optBool(body, 'tap'));
    })
    .add('DELETE', '/v1/saved-pipelines/:name', ({ deps, params }) => {
      unwrap(deps.supervisor.dropSavedPipeline(params.name ?? ''));
      return { dropped: params.name };
    });
}

/** Saved sources are written in every snapshot: their total is bounded (savedCharsMax). */
function checkSavedRoom(ctx: Ctx, name: string, source: string): void {
  let total = source.length;
  for (const saved of ctx.deps.supervisor.listSavedPipelines()) {
    if (saved.name !== name) total += saved.source.length;
  }
  if (total > LIMITS.savedCharsMax) {
    throw overLimit(`saved pipelines would hold ${total} characters of source`, 'savedCharsMax');
  }
}

function checkSource(ctx: Ctx, source: string, vars: Record<string, string>) {
  const { specs } = ctx.deps;
  const parsed = specs.pipelineToml(source, vars);
  if (!parsed.ok) {
    const lines = specs.formatIssues(parsed.issues);
    throw invalid(`invalid pipeline spec:\n${lines}`, parsed.issues[0]?.path, parsed.issues);
  }
  return parsed.value;
}

function runSource(ctx: Ctx, source: string, vars: Record<string, string>, tap: boolean) {
  const spec = checkSource(ctx, source, vars);
  const options: RunPipelineOptions = { tap, source, vars };
  return unwrap(ctx.deps.supervisor.runPipeline(spec, options));
}
