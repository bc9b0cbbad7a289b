/** The planner's view of what runs (core/apply/plan.ts `LiveState`), from the Supervisor API. */

import type { Supervisor } from '../engine/api.js';
import { type LiveService, type LiveState, pipelineSignature } from './plan.js';
import { serviceOf } from './service.js';

const RUNNING_STATES = new Set(['starting', 'running', 'backoff']);

/**
 * What runs now, in the planner's terms, read through the Supervisor API: stopped
 * workspaces and pipelines left out; workers empty (the caller adds the worker
 * subsystem's). The control adapter and the simulator plan from this same view.
 */
export function liveOf(supervisor: Supervisor): LiveState {
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
    workers: [],
  };
}

/** Alive or about to be: what apply leaves alone when its spec is unchanged. */
export function running(c: { state: string; alive: boolean }): boolean {
  return c.alive || RUNNING_STATES.has(c.state);
}
