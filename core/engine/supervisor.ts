/**
 * The supervisor facade: the api.ts methods over the shell (shell.ts), which runs the
 * pure `step` machine and executes its effects through the ports.
 */

import { formatIssues, parsePipelineToml } from '../manifest/index.js';
import type { CommandSpec, PipelineSpec, WorkspaceSpec } from '../manifest/types.js';
import type { WorkerSpec } from '../manifest/worker.js';
import { defaultPolicy } from '../policy/index.js';
import type { LifecycleEvent, PortError } from '../ports.js';
import type {
  ApiError,
  ApiResult,
  CommandView,
  CreateSupervisor,
  HealthView,
  PipelineView,
  QuotaView,
  RestoreReport,
  RunPipelineOptions,
  SavedPipelineView,
  StatsView,
  Supervisor,
  SupervisorOptions,
  WorkerSupervisor,
  WorkspaceView,
} from './api.js';
import { resolveCommand, resolvePipeline, resolveWorkspace } from './draft.js';
import { isGrace } from './grace.js';
import { commandsOf } from './live.js';
import type { EngineOptions, WorkspaceRec } from './model.js';
import { restoreFromStore } from './restore.js';
import { type Settled, Shell } from './shell.js';
import {
  commandView,
  healthView,
  pipelineView,
  quotaView,
  savedView,
  statsView,
  workspaceView,
} from './views.js';
import { type EnvelopeLookup, UNAVAILABLE_WORKERS, WorkerHost } from './worker-host.js';
import type { WorkerView } from './worker-views.js';

export const createSupervisor: CreateSupervisor = (ports, options = {}) => {
  const policy = { ...defaultPolicy, ...options.policy };
  const shell = new Shell(ports, engineOptions(options), policy);
  return new Facade(shell, ports.queue ? workerHost(shell, ports.queue, options) : null);
};

/** Workers (contract §9) beside the engine: their exits come through the shell's hook. */
function workerHost(
  shell: Shell,
  queue: NonNullable<Shell['ports']['queue']>,
  options: SupervisorOptions,
): WorkerHost {
  const envelopeOf = (wsId: string): EnvelopeLookup => {
    const ws = shell.state.workspaces.get(wsId);
    if (ws?.phase.kind === 'running') return { ok: true, envelope: ws.envelope };
    return { ok: false, why: `workspace ${wsId} is ${ws ? ws.phase.kind : 'gone'}` };
  };
  const host = new WorkerHost({
    ...shell.ports,
    queue,
    append: (e) => shell.append(e.ev, e.fields),
    envelopeOf,
    ...(options.taskLogs ? { taskLogs: options.taskLogs } : {}),
  });
  shell.exitHook = (pid, code, signal, startFailed) => host.onExit(pid, code, signal, startFailed);
  // A stopping workspace ends its workers' running tasks too (they stay queued).
  shell.onEvent((e) => {
    if (e.ev !== 'workspace-stop') return;
    host.workspaceStopping(String(e.fields.ws), Number(e.fields.grace_ms ?? 0));
  });
  return host;
}

function engineOptions(options: SupervisorOptions): EngineOptions {
  return {
    sampleEveryMs: options.sampleEveryMs ?? 1000,
    statsEveryMs: options.statsEveryMs ?? options.sampleEveryMs ?? 1000,
    saveDelayMs: options.saveDelayMs ?? 200,
    deadCommandsMax: options.deadCommandsMax ?? 64,
    cores: options.cores ?? 1,
  };
}

const notFound = (message: string): ApiError => ({ code: 'not_found', message });

class Facade implements Supervisor {
  private started = false;
  private shuttingDown: Promise<Settled> | null = null;

  constructor(
    private readonly shell: Shell,
    private readonly workers: WorkerHost | null,
  ) {}

  private get state() {
    return this.shell.state;
  }

  private get ports() {
    return this.shell.ports;
  }

  private apply(event: Parameters<Shell['apply']>[0]): ApiError | null {
    return this.shell.apply(event);
  }

  start(): RestoreReport {
    if (this.started) throw new Error('start() is called once');
    this.started = true;
    this.apply({ type: 'daemon-started', caps: this.ports.cgroups.caps() });
    const report = restoreFromStore(this.shell);
    const w = this.workers?.start();
    if (!w) return report;
    const queued = w.error ? `workers not loaded: ${w.error}` : `${w.workers} workers`;
    return { ...report, message: `${report.message}; ${queued}, ${w.tasks} queued tasks` };
  }

  private ensureCaps(): void {
    if (!this.state.caps) this.apply({ type: 'daemon-started', caps: this.ports.cgroups.caps() });
  }

  flush(): void {
    this.apply({ type: 'flush' });
  }

  close(): void {
    this.workers?.close();
    this.shell.close();
  }

  shutdown(graceMs: number): Promise<Settled> {
    if (this.shuttingDown) return this.shuttingDown;
    const event = { type: 'daemon-shutdown' as const, graceMs };
    // A refused grace begins nothing: workers go on, writes go on, a later stop still runs.
    if (!isGrace(graceMs)) return this.shell.waitFor('daemon:', event);
    this.workers?.shutdown();
    this.shuttingDown = this.shell.waitFor('daemon:', event);
    this.shell.stopWriting();
    return this.shuttingDown;
  }

  onEvent(listener: (event: LifecycleEvent) => void): () => void {
    return this.shell.onEvent(listener);
  }

  private wsOf(ref: string): WorkspaceRec | null {
    return resolveWorkspace(this.state, ref);
  }

  createWorkspace(spec: WorkspaceSpec): ApiResult<{ id: string; warnings: string[] }> {
    this.ensureCaps();
    const id = this.ports.ids.next();
    const error = this.apply({
      type: 'workspace-create',
      id,
      spec,
      wallMs: this.ports.clock.wallMs(),
    });
    if (error) return { ok: false, error };
    const ws = this.state.workspaces.get(id);
    return { ok: true, value: { id, warnings: ws ? [...ws.warnings] : [] } };
  }

  listWorkspaces(): WorkspaceView[] {
    const wallMs = this.ports.clock.wallMs();
    return [...this.state.workspaces.values()].map((ws) => workspaceView(this.state, ws, wallMs));
  }

  getWorkspace(ref: string): ApiResult<WorkspaceView> {
    const ws = this.wsOf(ref);
    if (!ws) return { ok: false, error: notFound(`no workspace "${ref}"`) };
    return { ok: true, value: workspaceView(this.state, ws, this.ports.clock.wallMs()) };
  }

  stopWorkspace(ref: string, graceMs: number): Promise<Settled> {
    const ws = this.wsOf(ref);
    if (!ws) return Promise.resolve({ ok: false, error: notFound(`no workspace "${ref}"`) });
    return this.shell.waitFor(`workspace:${ws.id}`, {
      type: 'workspace-stop',
      ref: ws.id,
      graceMs,
      reason: 'operator',
    });
  }

  quota(ref: string): ApiResult<QuotaView> {
    const ws = this.sampledNow(ref);
    if (!ws) return { ok: false, error: notFound(`no workspace "${ref}"`) };
    return { ok: true, value: quotaView(this.state, ws, this.shell.policy) };
  }

  stats(ref: string): ApiResult<StatsView> {
    const ws = this.sampledNow(ref);
    if (!ws) return { ok: false, error: notFound(`no workspace "${ref}"`) };
    return { ok: true, value: statsView(this.state, ws, this.ports.clock.wallMs()) };
  }

  /** The workspace after an on-demand sample (the history cadence may be slow). */
  private sampledNow(ref: string): WorkspaceRec | null {
    const ws = this.wsOf(ref);
    if (!ws) return null;
    this.apply({ type: 'stats-requested', wsId: ws.id });
    return this.state.workspaces.get(ws.id) ?? null;
  }

  runCommand(ref: string, spec: CommandSpec): ApiResult<CommandView> {
    const id = this.ports.ids.next();
    const error = this.apply({ type: 'command-run', ref, id, spec });
    if (error) return { ok: false, error };
    const cmd = this.state.commands.get(id);
    if (cmd) return { ok: true, value: commandView(cmd) };
    return { ok: false, error: this.spawnError(id) };
  }

  runCommands(ref: string, specs: CommandSpec[]): ApiResult<ApiResult<CommandView>[]> {
    const runs = specs.map((spec) => ({ id: this.ports.ids.next(), spec }));
    const error = this.apply({ type: 'commands-run', ref, runs });
    if (error) return { ok: false, error };
    const views = runs.map(({ id }): ApiResult<CommandView> => {
      const cmd = this.state.commands.get(id);
      if (cmd) return { ok: true, value: commandView(cmd) };
      // More failures than the shell keeps (SPAWN_ERRORS_MAX): the event log has each one.
      const e = this.shell.takeSpawnError(id);
      const message = 'spawn failed (see `shipote events`)';
      return { ok: false, error: e ? toApiError(e) : { code: 'spawn_failed', message } };
    });
    return { ok: true, value: views };
  }

  private spawnError(key: string): ApiError {
    const e = this.shell.takeSpawnError(key);
    if (!e) throw new Error(`spawn of ${key} left nothing behind and reported no error`);
    return toApiError(e);
  }

  listCommands(ref: string): ApiResult<CommandView[]> {
    const ws = this.wsOf(ref);
    if (!ws) return { ok: false, error: notFound(`no workspace "${ref}"`) };
    return { ok: true, value: commandsOf(this.state, ws.id).map(commandView) };
  }

  getCommand(ref: string, cmd: string): ApiResult<CommandView> {
    const ws = this.wsOf(ref);
    if (!ws) return { ok: false, error: notFound(`no workspace "${ref}"`) };
    const rec = resolveCommand(this.state, ws, cmd);
    if (!rec) return { ok: false, error: notFound(`no command "${cmd}" in "${ws.spec.label}"`) };
    return { ok: true, value: commandView(rec) };
  }

  async restartCommand(ref: string, cmd: string): Promise<ApiResult<CommandView>> {
    const rec = this.commandRec(ref, cmd);
    if (!rec.ok) return rec;
    const id = rec.value.id;
    this.shell.takeSpawnError(id);
    const event = { type: 'command-restart' as const, ref, cmd };
    const settled = await this.shell.waitFor(`command-restart:${id}`, event);
    if (!settled.ok) return settled;
    const spawnError = this.shell.takeSpawnError(id);
    if (spawnError) return { ok: false, error: toApiError(spawnError) };
    return this.getCommand(ref, id);
  }

  stopCommand(ref: string, cmd: string, graceMs: number): Promise<Settled> {
    const rec = this.commandRec(ref, cmd);
    if (!rec.ok) return Promise.resolve(rec);
    const event = { type: 'command-stop' as const, ref, cmd, graceMs, remove: false };
    return this.shell.waitFor(`command:${rec.value.id}`, event);
  }

  async removeCommand(ref: string, cmd: string, graceMs: number): Promise<ApiResult<true>> {
    const rec = this.commandRec(ref, cmd);
    if (!rec.ok) return rec;
    const event = { type: 'command-stop' as const, ref, cmd, graceMs, remove: true };
    const settled = await this.shell.waitFor(`command:${rec.value.id}`, event);
    return settled.ok ? { ok: true, value: true } : settled;
  }

  private commandRec(ref: string, cmd: string): ApiResult<{ id: string }> {
    const ws = this.wsOf(ref);
    if (!ws) return { ok: false, error: notFound(`no workspace "${ref}"`) };
    const rec = resolveCommand(this.state, ws, cmd);
    if (!rec) return { ok: false, error: notFound(`no command "${cmd}" in "${ws.spec.label}"`) };
    return { ok: true, value: { id: rec.id } };
  }

  runPipeline(spec: PipelineSpec, options: RunPipelineOptions): ApiResult<PipelineView> {
    this.ensureCaps();
    const id = this.ports.ids.next();
    const nodeIds = spec.nodes.map(() => this.ports.ids.next());
    const run = {
      source: options.source ?? '',
      vars: options.vars ?? {},
      tap: options.tap,
      restarts: 0,
      backoffMs: 0,
    };
    const error = this.apply({ type: 'pipeline-run', id, nodeIds, spec, run });
    if (error) return { ok: false, error };
    const p = this.state.pipelines.get(id);
    if (p) return { ok: true, value: pipelineView(p) };
    return { ok: false, error: this.spawnError(id) };
  }

  listPipelines(): PipelineView[] {
    return [...this.state.pipelines.values()].map(pipelineView);
  }

  getPipeline(ref: string): ApiResult<PipelineView> {
    const p = resolvePipeline(this.state, ref);
    return p.ok ? { ok: true, value: pipelineView(p.value) } : p;
  }

  stopPipeline(ref: string, graceMs: number): Promise<Settled> {
    const p = resolvePipeline(this.state, ref);
    if (!p.ok) return Promise.resolve(p);
    const { id } = p.value;
    return this.shell.waitFor(`pipeline:${id}`, { type: 'pipeline-stop', id, graceMs });
  }

  async restartPipeline(ref: string): Promise<ApiResult<PipelineView>> {
    const p = resolvePipeline(this.state, ref);
    if (!p.ok) return p;
    const { id } = p.value;
    this.shell.takeSpawnError(id);
    const settled = await this.shell.waitFor(`pipeline-restart:${id}`, {
      type: 'pipeline-restart',
      id,
    });
    if (!settled.ok) return settled;
    const spawnError = this.shell.takeSpawnError(id);
    if (spawnError) return { ok: false, error: toApiError(spawnError) };
    return this.getPipeline(id);
  }

  savePipeline(name: string, source: string): ApiResult<SavedPipelineView> {
    const parsed = parsePipelineToml(source, {});
    if (!parsed.ok) {
      const field = parsed.issues[0]?.path ?? 'source';
      return { ok: false, error: { code: 'invalid', field, message: formatIssues(parsed.issues) } };
    }
    const wallMs = this.ports.clock.wallMs();
    const error = this.apply({ type: 'pipeline-save', name, source, wallMs });
    if (error) return { ok: false, error };
    return this.getSavedPipeline(name);
  }

  listSavedPipelines(): SavedPipelineView[] {
    return [...this.state.saved.values()].map(savedView);
  }

  getSavedPipeline(name: string): ApiResult<SavedPipelineView> {
    const saved = this.state.saved.get(name);
    if (!saved) return { ok: false, error: notFound(`no saved pipeline "${name}"`) };
    return { ok: true, value: savedView(saved) };
  }

  dropSavedPipeline(name: string): ApiResult<true> {
    const error = this.apply({ type: 'pipeline-drop', name });
    return error ? { ok: false, error } : { ok: true, value: true };
  }

  // ── workers (contract §9) ───────────────────────────────────────────────────────

  private get host(): WorkerSupervisor {
    return this.workers ?? UNAVAILABLE_WORKERS;
  }

  /** False when the daemon runs without a queue store: every worker call is unavailable. */
  get workersAvailable(): boolean {
    return this.workers !== null;
  }

  createWorker(ref: string, spec: WorkerSpec): ApiResult<WorkerView> {
    const ws = this.wsOf(ref);
    if (!ws) return { ok: false, error: notFound(`no workspace "${ref}"`) };
    if (ws.phase.kind !== 'running') {
      const message = `workspace "${ref}" is ${ws.phase.kind}: workers need a running workspace`;
      return { ok: false, error: { code: 'conflict', message } };
    }
    return this.host.createWorker(ws.id, spec);
  }

  readonly pushTask: WorkerSupervisor['pushTask'] = (n, payload) => this.host.pushTask(n, payload);
  readonly listWorkers: WorkerSupervisor['listWorkers'] = () => this.host.listWorkers();
  readonly getWorker: WorkerSupervisor['getWorker'] = (name) => this.host.getWorker(name);
  readonly listTasks: WorkerSupervisor['listTasks'] = (n, o) => this.host.listTasks(n, o);
  readonly retryTask: WorkerSupervisor['retryTask'] = (name, id) => this.host.retryTask(name, id);
  readonly dropWorker: WorkerSupervisor['dropWorker'] = (n, o) => this.host.dropWorker(n, o);

  health(): HealthView {
    return healthView(this.state);
  }
}

function toApiError(e: PortError): ApiError {
  const error: ApiError = { code: 'spawn_failed', message: e.message };
  if (e.errno !== undefined) error.errno = e.errno;
  if (e.syscall !== undefined) error.syscall = e.syscall;
  return error;
}
