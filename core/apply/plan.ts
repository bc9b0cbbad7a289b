/**
 * Reconciliation for `shipote apply` (contract §7): the desired document beside a view of
 * what runs now → an ordered plan of actions. Pure: no ids are made here, no process is
 * touched; the control adapter executes the plan against the Supervisor API.
 *
 * Rules:
 * - matched by label: workspaces by label, services by (workspace label, label), pipelines
 *   by label, workers by name;
 * - missing → create/start; spec differs → replace (a service: removed and started with the
 *   new spec); same spec but not running → restart; same and running → unchanged (no action);
 * - a workspace whose spec changed is replaced: stopped, created again, and everything the
 *   file puts in it started again;
 * - anything live that the file does not name is removed only with `prune`;
 * - order: removals, workspaces, services in dependency order (`depends_on` first; file
 *   order among equals), pipelines, workers.
 */

import {
  type ApplyDocument,
  type ApplyPipeline,
  type ServiceSpec,
  type WorkerDecl,
  workspaceRefIssues,
} from '../manifest/apply.js';
import { nodeLogRotation } from '../manifest/pipeline.js';
import type { LogRotation, SpecIssue, WorkspaceSpec } from '../manifest/types.js';

export interface LiveWorkspace {
  id: string;
  label: string;
  spec: WorkspaceSpec;
}

export interface LiveService {
  id: string;
  /** Workspace label. */
  workspace: string;
  label: string;
  spec: ServiceSpec;
  /** Alive or about to be (starting, running, backoff). */
  running: boolean;
}

export interface LivePipeline {
  id: string;
  label: string;
  workspace: string;
  /** `pipelineSignature` of what runs. */
  signature: string;
}

export interface LiveWorker {
  name: string;
  workspace: string;
  /** `workerSignature` of what runs. */
  signature: string;
}

/** What runs now (stopped workspaces and pipelines left out by the caller). */
export interface LiveState {
  workspaces: LiveWorkspace[];
  services: LiveService[];
  pipelines: LivePipeline[];
  workers: LiveWorker[];
}

export type ApplyAction =
  | { kind: 'remove-service'; workspace: string; label: string; id: string }
  | { kind: 'remove-pipeline'; label: string; id: string }
  | { kind: 'remove-worker'; name: string }
  | { kind: 'remove-workspace'; label: string; id: string }
  | { kind: 'create-workspace'; label: string; spec: WorkspaceSpec }
  | { kind: 'replace-workspace'; label: string; id: string; spec: WorkspaceSpec }
  | { kind: 'start-service'; workspace: string; label: string; spec: ServiceSpec }
  | {
      kind: 'replace-service';
      workspace: string;
      label: string;
      id: string;
      spec: ServiceSpec;
      /** The fields that differ, in ServiceSpec names. */
      changed: string[];
    }
  | { kind: 'restart-service'; workspace: string; label: string; id: string; spec: ServiceSpec }
  | { kind: 'start-pipeline'; label: string; pipeline: ApplyPipeline }
  | { kind: 'replace-pipeline'; label: string; id: string; pipeline: ApplyPipeline }
  | { kind: 'create-worker'; worker: WorkerDecl }
  | { kind: 'replace-worker'; worker: WorkerDecl };

export interface ApplyPlan {
  actions: ApplyAction[];
  /** `service web/api`, … : named by the file, running, and left alone. */
  unchanged: string[];
}

export type PlanResult = { ok: true; value: ApplyPlan } | { ok: false; issues: SpecIssue[] };

/**
 * What identifies a running pipeline in its view: workspace and node labels, in order, and
 * each node's log rotation when any is set (a changed `logs` table is a change: the
 * rotation is fixed when a stream's file opens, so the pipeline is run again).
 */
export function pipelineSignature(
  workspace: string,
  nodeLabels: string[],
  nodeLogs: (LogRotation | undefined)[] = [],
): string {
  if (!nodeLogs.some((l) => l !== undefined)) return JSON.stringify([workspace, nodeLabels]);
  const logs = nodeLogs.map((l) => (l ? [l.maxBytes, l.keep] : null));
  return JSON.stringify([workspace, nodeLabels, logs]);
}

export function workerSignature(worker: WorkerDecl): string {
  return JSON.stringify([worker.workspace, worker.exec, worker.argv, worker.cwd, worker.envp]);
}

/** The ServiceSpec fields whose values differ (compared as JSON). */
export function changedFields(a: ServiceSpec, b: ServiceSpec): string[] {
  const keys = Object.keys(a) as (keyof ServiceSpec)[];
  return keys.filter((key) => JSON.stringify(a[key]) !== JSON.stringify(b[key]));
}

export function planApply(
  doc: ApplyDocument,
  live: LiveState,
  opts: { prune: boolean },
): PlanResult {
  const issues = checkReferences(doc, live);
  if (issues.length > 0) return { ok: false, issues };
  const replaced = new Set<string>();
  const wsActions: ApplyAction[] = [];
  const unchanged: string[] = [];
  const liveWs = new Map(live.workspaces.map((w) => [w.label, w]));
  for (const spec of doc.workspaces) {
    const current = liveWs.get(spec.label);
    if (current === undefined) {
      wsActions.push({ kind: 'create-workspace', label: spec.label, spec });
      replaced.add(spec.label);
    } else if (JSON.stringify(current.spec) !== JSON.stringify(spec)) {
      wsActions.push({ kind: 'replace-workspace', label: spec.label, id: current.id, spec });
      replaced.add(spec.label);
    } else {
      unchanged.push(`workspace ${spec.label}`);
    }
  }
  const removals = opts.prune ? pruneActions(doc, live, replaced) : [];
  const services = serviceActions(doc, live, replaced, unchanged);
  const pipelines = pipelineActions(doc, live, replaced, unchanged);
  const workers = workerActions(doc, live, unchanged);
  const actions = [...removals, ...wsActions, ...services, ...pipelines, ...workers];
  return { ok: true, value: { actions, unchanged } };
}

function checkReferences(doc: ApplyDocument, live: LiveState): SpecIssue[] {
  return workspaceRefIssues(
    doc,
    live.workspaces.map((w) => w.label),
  );
}

function pruneActions(doc: ApplyDocument, live: LiveState, replaced: Set<string>) {
  const named = new Set(doc.workspaces.map((w) => w.label));
  const referenced = new Set([
    ...named,
    ...doc.services.map((s) => s.workspace),
    ...doc.pipelines.map((p) => p.spec.workspace),
    ...doc.workers.map((w) => w.workspace),
  ]);
  const gone = new Set(live.workspaces.filter((w) => !referenced.has(w.label)).map((w) => w.label));
  /** Whatever lives in a workspace that is removed or replaced ends with it. */
  const endsAnyway = (ws: string) => gone.has(ws) || replaced.has(ws);
  const services = new Set(doc.services.map((s) => `${s.workspace}/${s.label}`));
  const pipelines = new Set(doc.pipelines.map((p) => p.spec.label));
  const workers = new Set(doc.workers.map((w) => w.name));
  const out: ApplyAction[] = [];
  for (const s of live.services) {
    if (services.has(`${s.workspace}/${s.label}`) || endsAnyway(s.workspace)) continue;
    out.push({ kind: 'remove-service', workspace: s.workspace, label: s.label, id: s.id });
  }
  for (const p of live.pipelines) {
    if (pipelines.has(p.label) || endsAnyway(p.workspace)) continue;
    out.push({ kind: 'remove-pipeline', label: p.label, id: p.id });
  }
  for (const w of live.workers) {
    if (!workers.has(w.name)) out.push({ kind: 'remove-worker', name: w.name });
  }
  for (const w of live.workspaces) {
    if (gone.has(w.label)) out.push({ kind: 'remove-workspace', label: w.label, id: w.id });
  }
  return out;
}

function serviceActions(
  doc: ApplyDocument,
  live: LiveState,
  replaced: Set<string>,
  unchanged: string[],
): ApplyAction[] {
  const byKey = new Map(live.services.map((s) => [`${s.workspace}/${s.label}`, s]));
  const out: ApplyAction[] = [];
  for (const spec of dependencyOrder(doc.services)) {
    const base = { workspace: spec.workspace, label: spec.label, spec };
    const current = replaced.has(spec.workspace) ? undefined : byKey.get(serviceKey(spec));
    if (current === undefined) {
      out.push({ kind: 'start-service', ...base });
      continue;
    }
    const changed = changedFields(current.spec, spec);
    if (changed.length > 0) {
      out.push({ kind: 'replace-service', ...base, id: current.id, changed });
    } else if (!current.running) {
      out.push({ kind: 'restart-service', ...base, id: current.id });
    } else {
      unchanged.push(`service ${serviceKey(spec)}`);
    }
  }
  return out;
}

function serviceKey(s: { workspace: string; label: string }): string {
  return `${s.workspace}/${s.label}`;
}

/**
 * Services with each after the ones it depends on; file order among those that are free.
 * Assumes the dependencies were validated (known, acyclic): a leftover is appended as is.
 */
export function dependencyOrder(services: ServiceSpec[]): ServiceSpec[] {
  const placed = new Set<string>();
  const out: ServiceSpec[] = [];
  let pending = services;
  while (pending.length > 0) {
    const ready = pending.filter((s) =>
      s.dependsOn.every((dep) => placed.has(`${s.workspace}/${dep}`)),
    );
    if (ready.length === 0) return [...out, ...pending];
    for (const s of ready) placed.add(serviceKey(s));
    out.push(...ready);
    pending = pending.filter((s) => !placed.has(serviceKey(s)));
  }
  return out;
}

function pipelineActions(
  doc: ApplyDocument,
  live: LiveState,
  replaced: Set<string>,
  unchanged: string[],
): ApplyAction[] {
  const byLabel = new Map(live.pipelines.map((p) => [p.label, p]));
  const out: ApplyAction[] = [];
  for (const pipeline of doc.pipelines) {
    const { spec } = pipeline;
    const current = byLabel.get(spec.label);
    const wanted = pipelineSignature(
      spec.workspace,
      spec.nodes.map((n) => n.label),
      spec.nodes.map((_, i) => nodeLogRotation(spec, i)),
    );
    if (
      current === undefined ||
      (replaced.has(spec.workspace) && current.workspace === spec.workspace)
    ) {
      out.push({ kind: 'start-pipeline', label: spec.label, pipeline });
    } else if (current.signature !== wanted) {
      out.push({ kind: 'replace-pipeline', label: spec.label, id: current.id, pipeline });
    } else {
      unchanged.push(`pipeline ${spec.label}`);
    }
  }
  return out;
}

function workerActions(doc: ApplyDocument, live: LiveState, unchanged: string[]): ApplyAction[] {
  const byName = new Map(live.workers.map((w) => [w.name, w]));
  const out: ApplyAction[] = [];
  for (const worker of doc.workers) {
    const current = byName.get(worker.name);
    if (current === undefined) out.push({ kind: 'create-worker', worker });
    else if (current.signature !== workerSignature(worker)) {
      out.push({ kind: 'replace-worker', worker });
    } else unchanged.push(`worker ${worker.name}`);
  }
  return out;
}

/** One line per action, as `apply --dry-run` prints it. */
export function describeAction(action: ApplyAction): string {
  switch (action.kind) {
    case 'remove-service':
      return `- service ${action.workspace}/${action.label} (remove: not in the file)`;
    case 'remove-pipeline':
      return `- pipeline ${action.label} (stop: not in the file)`;
    case 'remove-worker':
      return `- worker ${action.name} (remove: not in the file)`;
    case 'remove-workspace':
      return `- workspace ${action.label} (stop: not in the file)`;
    case 'create-workspace':
      return `+ workspace ${action.label}`;
    case 'replace-workspace':
      return `~ workspace ${action.label} (spec changed: stop and create again)`;
    case 'start-service':
      return `+ service ${action.workspace}/${action.label}`;
    case 'replace-service': {
      const changed = action.changed.join(', ');
      return `~ service ${action.workspace}/${action.label} (changed: ${changed})`;
    }
    case 'restart-service':
      return `~ service ${action.workspace}/${action.label} (not running: restart)`;
    case 'start-pipeline':
      return `+ pipeline ${action.label}`;
    case 'replace-pipeline':
      return `~ pipeline ${action.label} (changed: stop and run again)`;
    case 'create-worker':
      return `+ worker ${action.worker.name}`;
    case 'replace-worker':
      return `~ worker ${action.worker.name} (changed: drop and create again)`;
  }
}
