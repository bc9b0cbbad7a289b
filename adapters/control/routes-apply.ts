/**
 * POST /v1/apply `{source, baseDir, prune?, dryRun?}` (contract §7): parse the apply file,
 * read what runs, plan (core/apply/plan.ts), and unless `dryRun` execute the plan through
 * the Supervisor API. A file that fails validation or planning is refused whole (400 with
 * every issue and its line) before anything is touched. Applies are serialised.
 *
 * Workers: the worker subsystem plugs in through `ApplyWorkerHook` (`deps.applyWorkers`);
 * a file with `[[workers]]` is refused when the daemon has none.
 */

import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import {
  type ApplyPlan,
  describeAction,
  type LiveService,
  type LiveState,
  pipelineSignature,
  planApply,
} from '../../core/apply/plan.js';
import { serviceOf } from '../../core/apply/service.js';
import type { Supervisor } from '../../core/engine/api.js';
import { type ApplySources, parseApplyToml, withLines } from '../../core/manifest/apply.js';
import { formatIssues } from '../../core/manifest/issues.js';
import type { SpecIssue } from '../../core/manifest/types.js';
import { type ApplyStepResult, type ApplyWorkerHook, executePlan } from './apply-exec.js';
import { supervisorWorkers } from './apply-workers.js';
import { invalid, optBool, optString, readJsonBody } from './http-util.js';
import type { Router } from './router.js';
import type { ControlDeps } from './types.js';

export type { ApplyWorkerHook };

export type ApplyDeps = ControlDeps & { applyWorkers?: ApplyWorkerHook };

export interface ApplyReply {
  dryRun: boolean;
  /** One line per action (`describeAction`), in order. */
  plan: string[];
  unchanged: string[];
  /** What executing did, one entry per action (empty on a dry run). */
  results: ApplyStepResult[];
}

let queue: Promise<unknown> = Promise.resolve();

export function addApplyRoutes(router: Router): void {
  router.add('POST', '/v1/apply', async (ctx) => {
    const body = await readJsonBody(ctx.req);
    const source = optString(body, 'source');
    if (source === undefined) throw invalid('source: expected the apply file TOML', 'source');
    const baseDir = optString(body, 'baseDir') ?? '/';
    if (!baseDir.startsWith('/')) throw invalid('baseDir: expected an absolute path', 'baseDir');
    const options = { prune: optBool(body, 'prune'), dryRun: optBool(body, 'dryRun') };
    return applySource(ctx.deps as ApplyDeps, source, baseDir, options);
  });
}

function fileSources(baseDir: string): ApplySources {
  return {
    baseDir,
    parseEnv: (text) => parseDotenv(text),
    findExec,
    readText: (path) => {
      try {
        return { ok: true, text: readFileSync(path, 'utf8') };
      } catch (error) {
        return { ok: false, message: (error as NodeJS.ErrnoException).code ?? String(error) };
      }
    },
  };
}

function findExec(name: string, pathVar: string): string | null {
  for (const dir of pathVar.split(':')) {
    if (!dir.startsWith('/')) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // Not here: try the next PATH entry.
    }
  }
  return null;
}

function refuse(issues: SpecIssue[]): never {
  const message = `invalid apply file (nothing applied):\n${formatIssues(issues)}`;
  throw invalid(message, issues[0]?.path, issues);
}

export interface ApplyOptions {
  prune: boolean;
  dryRun: boolean;
}

/**
 * Apply the file text `source` (its directory `baseDir`): what the route and `shipote daemon
 * --apply` run. Serialised: one apply at a time. Throws HttpError (400 with every issue and
 * its line when the file is refused).
 */
export function applySource(
  deps: Pick<ApplyDeps, 'supervisor' | 'applyWorkers'>,
  source: string,
  baseDir: string,
  options: ApplyOptions,
): Promise<ApplyReply> {
  const run = queue.then(() => applyNow(deps, source, baseDir, options));
  queue = run.catch(() => undefined);
  return run;
}

async function applyNow(
  deps: Pick<ApplyDeps, 'supervisor' | 'applyWorkers'>,
  source: string,
  baseDir: string,
  options: ApplyOptions,
): Promise<ApplyReply> {
  const hook = deps.applyWorkers ?? supervisorWorkers(deps.supervisor);
  const live = liveState(deps.supervisor, hook);
  const liveWorkspaces = live.workspaces.map((w) => w.label);
  const parsed = parseApplyToml(source, { ...fileSources(baseDir), liveWorkspaces });
  if (!parsed.ok) refuse(parsed.issues);
  const doc = parsed.value;
  if (hook === undefined && doc.workers.length > 0) {
    refuse(
      withLines(source, [{ path: 'workers[0]', message: 'this daemon has no worker support' }]),
    );
  }
  const planned = planApply(doc, live, options);
  if (!planned.ok) refuse(withLines(source, planned.issues));
  const plan: ApplyPlan = planned.value;
  const lines = plan.actions.map(describeAction);
  if (options.dryRun) return { dryRun: true, plan: lines, unchanged: plan.unchanged, results: [] };
  const results = await executePlan(deps.supervisor, plan, hook);
  return { dryRun: false, plan: lines, unchanged: plan.unchanged, results };
}

const RUNNING_STATES = new Set(['starting', 'running', 'backoff']);

/** What runs now, in the planner's terms (stopped workspaces and pipelines left out). */
export function liveState(supervisor: Supervisor, hook: ApplyWorkerHook | undefined): LiveState {
  const workspaces = supervisor.listWorkspaces().filter((w) => w.state !== 'stopped');
  const labelOf = new Map(workspaces.map((w) => [w.id, w.label]));
  const services: LiveService[] = [];
  for (const ws of workspaces) {
    const listed = supervisor.listCommands(ws.id);
    if (!listed.ok) continue;
    const byLabel = new Map(listed.value.map((c) => [c.label, c])); // The newest record wins.
    for (const c of byLabel.values()) {
      const spec = serviceOf(ws.label, c.spec);
      services.push({ id: c.id, workspace: ws.label, label: c.label, spec, running: running(c) });
    }
  }
  const pipelines = supervisor
    .listPipelines()
    .filter((p) => p.state !== 'stopped' && labelOf.has(p.workspaceId))
    .map((p) => {
      const workspace = labelOf.get(p.workspaceId) ?? '';
      const signature = pipelineSignature(
        workspace,
        p.nodes.map((n) => n.label),
        p.nodes.map((n) => n.logs),
      );
      return { id: p.id, label: p.label, workspace, signature };
    });
  return {
    workspaces: workspaces.map((w) => ({ id: w.id, label: w.label, spec: w.spec })),
    services,
    pipelines,
    workers: hook?.list() ?? [],
  };
}

function running(c: { state: string; alive: boolean }): boolean {
  return c.alive || RUNNING_STATES.has(c.state);
}
