/**
 * GET /v1/ps: every command and pipeline node of every workspace with its pid, state, CPU
 * and RSS (of its whole process tree), uptime and restarts. `?tree=1` adds each live
 * process tree (for `shipote status`). CPU % is the average over the process's life, as
 * procps `ps` shows it; `shipote top` computes recent CPU from two `cpuUs` readings.
 */

import type { CommandView, PipelineView, WorkspaceView } from '../../core/engine/api.js';
import { type ProcNode, procTree } from './proc-tree.js';
import type { Ctx, Router } from './router.js';
import type { ControlDeps } from './types.js';

export interface PsRow {
  workspace: string;
  workspaceId: string;
  kind: 'command' | 'pipeline-node';
  /** The command's label, or `pipeline/node` for a pipeline node. */
  label: string;
  /** The command id (a pipeline node's command id). */
  id: string;
  pipelineId: string | null;
  pid: number | null;
  state: string;
  alive: boolean;
  restarts: number;
  startedAtWallMs: number | null;
  uptimeMs: number | null;
  /** null when the process is not alive or the daemon cannot sample it. */
  rssBytes: number | null;
  cpuUs: number | null;
  /** Integer per-mille of one core, averaged over the process's life (1000 = 100 %). */
  cpuPermille: number | null;
  tree?: ProcNode | null;
}

export interface PsView {
  wallMs: number;
  rows: PsRow[];
}

export function addPsRoutes(router: Router): void {
  router.add('GET', '/v1/ps', (ctx: Ctx) => {
    const tree = ctx.query.get('tree') === '1' || ctx.query.get('tree') === 'true';
    return psView(ctx.deps, Date.now(), tree);
  });
}

export function psView(deps: ControlDeps, wallMs: number, withTree: boolean): PsView {
  const sup = deps.supervisor;
  const workspaces = sup.listWorkspaces();
  const byId = new Map(workspaces.map((w) => [w.id, w]));
  const rows: PsRow[] = [];
  const seen = new Set<string>();
  for (const ws of workspaces) {
    const cmds = sup.listCommands(ws.id);
    if (!cmds.ok) continue;
    for (const c of cmds.value) {
      seen.add(c.id);
      rows.push(commandRow(ws, c, wallMs));
    }
  }
  for (const p of sup.listPipelines()) {
    const ws = byId.get(p.workspaceId);
    for (const n of p.nodes) {
      if (seen.has(n.commandId)) continue;
      rows.push(nodeRow(ws, p, n));
    }
  }
  for (const row of rows) addUsage(deps, row, withTree);
  return { wallMs, rows };
}

function commandRow(ws: WorkspaceView, c: CommandView, wallMs: number): PsRow {
  return {
    workspace: ws.label,
    workspaceId: ws.id,
    kind: 'command',
    label: c.label,
    id: c.id,
    pipelineId: null,
    pid: c.alive ? c.pid : null,
    state: c.state,
    alive: c.alive,
    restarts: c.restarts,
    startedAtWallMs: c.startedAtWallMs,
    uptimeMs: c.alive ? Math.max(0, wallMs - c.startedAtWallMs) : null,
    rssBytes: null,
    cpuUs: null,
    cpuPermille: null,
  };
}

function nodeRow(
  ws: WorkspaceView | undefined,
  p: PipelineView,
  n: PipelineView['nodes'][number],
): PsRow {
  return {
    workspace: ws?.label ?? p.workspaceId,
    workspaceId: p.workspaceId,
    kind: 'pipeline-node',
    label: `${p.label}/${n.label}`,
    id: n.commandId,
    pipelineId: p.id,
    pid: n.alive ? n.pid : null,
    state: n.alive ? 'running' : n.exit ? 'exited' : p.state,
    alive: n.alive,
    restarts: p.restarts,
    startedAtWallMs: null,
    uptimeMs: null,
    rssBytes: null,
    cpuUs: null,
    cpuPermille: null,
  };
}

function addUsage(deps: ControlDeps, row: PsRow, withTree: boolean): void {
  if (row.pid === null) return;
  if (deps.sample) {
    const s = deps.sample([row.pid]);
    if (s.alive > 0) {
      row.rssBytes = s.rssBytes;
      row.cpuUs = s.cpuUs;
      if (row.uptimeMs !== null && row.uptimeMs > 0) {
        row.cpuPermille = Math.round(s.cpuUs / row.uptimeMs);
      }
    }
  }
  if (withTree) row.tree = procTree(row.pid);
}
