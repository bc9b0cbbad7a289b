/** /v1/workspaces and the commands, logs and stats under them. */

import { LIMITS } from '../../core/manifest/limits.js';
import { parseTimeBound } from '../logstore/time.js';
import {
  checkLabel,
  invalid,
  optNonNegInt,
  optString,
  overLimit,
  queryInt,
  readJsonBody,
  unwrap,
} from './http-util.js';
import { resolveLogTarget, resolveWorkspaceLogs, streamLogs } from './logs.js';
import type { Ctx, Router } from './router.js';
import type { LogQuery, LogWhich } from './types.js';

export const graceMsDefault = 1000;

export function addWorkspaceRoutes(router: Router): void {
  router
    .add('POST', '/v1/workspaces', createWorkspace)
    .add('GET', '/v1/workspaces', ({ deps }) => deps.supervisor.listWorkspaces())
    .add('GET', '/v1/workspaces/:ws', ({ deps, params }) =>
      unwrap(deps.supervisor.getWorkspace(ws(params))),
    )
    .add('POST', '/v1/workspaces/:ws/stop', async (ctx) => {
      const body = await readJsonBody(ctx.req);
      const graceMs = optNonNegInt(body, 'graceMs', graceMsDefault);
      return unwrap(await ctx.deps.supervisor.stopWorkspace(ws(ctx.params), graceMs));
    })
    .add('GET', '/v1/workspaces/:ws/quota', ({ deps, params }) =>
      unwrap(deps.supervisor.quota(ws(params))),
    )
    .add('GET', '/v1/workspaces/:ws/stats', ({ deps, params }) =>
      unwrap(deps.supervisor.stats(ws(params))),
    )
    .add('POST', '/v1/workspaces/:ws/commands', runCommand)
    .add('GET', '/v1/workspaces/:ws/commands', ({ deps, params }) => {
      const list = unwrap(deps.supervisor.listCommands(ws(params)));
      const bytes = deps.logs.bytes;
      return bytes ? list.map((c) => ({ ...c, logBytes: bytes(c.id) })) : list;
    })
    .add('GET', '/v1/workspaces/:ws/commands/:cmd', ({ deps, params }) =>
      unwrap(deps.supervisor.getCommand(ws(params), cmd(params))),
    )
    .add('POST', '/v1/workspaces/:ws/commands/:cmd/restart', async ({ deps, params }) =>
      unwrap(await deps.supervisor.restartCommand(ws(params), cmd(params))),
    )
    .add('GET', '/v1/workspaces/:ws/commands/:cmd/logs', logs)
    .add('GET', '/v1/workspaces/:ws/logs', workspaceLogs);
}

function ws(params: Record<string, string>): string {
  return params.ws ?? '';
}

function cmd(params: Record<string, string>): string {
  return params.cmd ?? '';
}

async function createWorkspace(ctx: Ctx): Promise<unknown> {
  const body = await readJsonBody(ctx.req);
  const toml = optString(body, 'toml');
  const { specs, supervisor } = ctx.deps;
  let parsed: ReturnType<typeof specs.workspaceToml>;
  if (toml !== undefined) parsed = specs.workspaceToml(toml);
  else if (body.spec !== undefined) parsed = specs.workspaceObject(body.spec);
  else throw invalid('expected "toml" (TOML text) or "spec" (an object)', 'toml');
  if (!parsed.ok) {
    const lines = specs.formatIssues(parsed.issues);
    throw invalid(`invalid workspace spec:\n${lines}`, parsed.issues[0]?.path, parsed.issues);
  }
  const count = supervisor.listWorkspaces().length;
  if (count >= LIMITS.workspacesMax) {
    throw overLimit(`${count} workspaces exist already`, 'workspacesMax');
  }
  return unwrap(supervisor.createWorkspace(parsed.value));
}

async function runCommand(ctx: Ctx): Promise<unknown> {
  const body = await readJsonBody(ctx.req);
  // An empty label means "name it run-XXXXXX"; any other must be a valid label.
  if (typeof body.label === 'string' && body.label !== '') checkLabel(body.label, 'label');
  const parsed = ctx.deps.specs.command(body);
  if (!parsed.ok) {
    const lines = ctx.deps.specs.formatIssues(parsed.issues);
    throw invalid(`invalid command:\n${lines}`, parsed.issues[0]?.path, parsed.issues);
  }
  return unwrap(ctx.deps.supervisor.runCommand(ws(ctx.params), parsed.value));
}

const whichValues: readonly LogWhich[] = ['stdout', 'stderr', 'both'];

function logQuery(ctx: Ctx): LogQuery {
  const { query, deps } = ctx;
  const q: LogQuery = {};
  const tailBytes = queryInt(query, 'tail');
  if (tailBytes !== undefined) q.tailBytes = tailBytes;
  const lines = queryInt(query, 'lines');
  if (lines !== undefined) q.lines = lines;
  const nowWallMs = deps.wallMs?.() ?? Date.now();
  for (const field of ['since', 'until'] as const) {
    const raw = query.get(field);
    if (raw === null || raw === '') continue;
    const t = parseTimeBound(field, raw, nowWallMs);
    if (!t.ok) throw invalid(t.message, field);
    q[field === 'since' ? 'sinceMs' : 'untilMs'] = t.wallMs;
  }
  const ts = query.get('timestamps');
  if (ts === '1' || ts === 'true') q.timestamps = true;
  return q;
}

function followOf(ctx: Ctx): boolean {
  return ctx.query.get('follow') === '1' || ctx.query.get('follow') === 'true';
}

function whichOf(ctx: Ctx): LogWhich {
  const which = (ctx.query.get('which') ?? 'both') as LogWhich;
  if (!whichValues.includes(which)) {
    throw invalid(`which: expected stdout, stderr or both, got "${which}"`, 'which');
  }
  return which;
}

async function logs(ctx: Ctx): Promise<unknown> {
  const { deps, params } = ctx;
  const known = () => deps.logs.known?.() ?? [];
  const target = resolveLogTarget(deps.supervisor, ws(params), cmd(params), known);
  await streamLogs(ctx, [target], whichOf(ctx), logQuery(ctx), followOf(ctx));
  return undefined;
}

/** Every command's logs of a workspace, merged by time, each line labelled. */
async function workspaceLogs(ctx: Ctx): Promise<unknown> {
  const { deps, params } = ctx;
  const known = () => deps.logs.known?.() ?? [];
  const follow = followOf(ctx);
  const found = resolveWorkspaceLogs(deps.supervisor, ws(params), known, follow);
  await streamLogs(ctx, found.targets, whichOf(ctx), logQuery(ctx), follow, found);
  return undefined;
}
