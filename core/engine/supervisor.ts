/**
 * The imperative shell around `step`: holds the state, executes effects through the
 * ports, and feeds port results and kernel events back as events. Port results (spawn,
 * cgroup create) are fed back at once, before any queued kernel event, so an exit that
 * a port reports while spawning always finds its pid registered.
 */

import { discern } from '../flow/index.js';
import { formatIssues, parsePipelineToml } from '../manifest/index.js';
import type { CommandSpec, PipelineSpec, WorkspaceSpec } from '../manifest/types.js';
import type { WorkerSpec } from '../manifest/worker.js';
import { defaultPolicy, type Policy } from '../policy/index.js';
import type { KernelEvent, LifecycleEvent, PortError, Ports, TimerHandle } from '../ports.js';
import { decodeSnapshot, encodeSnapshot } from '../snapshot/index.js';
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
  WorkspaceView,
} from './api.js';
import { resolveCommand, resolveWorkspace } from './draft.js';
import { commandsOf } from './live.js';
import type { Effect, EngineEvent, EngineOptions, EngineState, WorkspaceRec } from './model.js';
import { toSnapshot } from './persist.js';
import { initialState, step } from './step.js';
import {
  commandView,
  healthView,
  pipelineView,
  quotaView,
  savedView,
  statsView,
  workspaceView,
} from './views.js';
import type { WorkerSupervisor, WorkerView } from './worker-api.js';
import { type EnvelopeLookup, UNAVAILABLE_WORKERS, WorkerHost } from './worker-host.js';

type Settled = ApiResult<{ reaped: number }>;

const SPAWN_ERRORS_MAX = 32;

export const createSupervisor: CreateSupervisor = (ports, options = {}) =>
  new Shell(ports, options);

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

class Shell implements Supervisor {
  private state: EngineState;
  private readonly policy: Policy;
  private readonly queue: EngineEvent[] = [];
  private depth = 0;
  private readonly timers = new Map<string, TimerHandle>();
  private readonly listeners = new Set<(event: LifecycleEvent) => void>();
  private readonly waiters = new Map<string, ((r: Settled) => void)[]>();
  /** Recent spawn failures by key, for the API call that caused them (bounded). */
  private readonly spawnErrors = new Map<string, PortError>();
  private lastWritten: string | null = null;
  /** Set when a snapshot could not be set aside: never overwrite what we could not read. */
  private storeBlocked: string | null = null;
  private started = false;
  private closed = false;
  /** Workers and their queues (contract §9): present when the ports have a queue store. */
  private readonly workers: WorkerHost | null;

  constructor(
    private readonly ports: Ports,
    options: SupervisorOptions,
  ) {
    this.state = initialState(engineOptions(options));
    this.policy = { ...defaultPolicy, ...options.policy };
    ports.kernel.onEvent((event) => this.onKernelEvent(event));
    this.workers = ports.queue
      ? new WorkerHost({
          ...ports,
          queue: ports.queue,
          append: (e) => this.append(e.ev, e.fields),
          envelopeOf: (wsId) => this.envelopeOf(wsId),
          ...(options.taskLogs ? { taskLogs: options.taskLogs } : {}),
        })
      : null;
  }

  private envelopeOf(wsId: string): EnvelopeLookup {
    const ws = this.state.workspaces.get(wsId);
    if (ws?.state === 'running') return { ok: true, envelope: ws.envelope };
    return { ok: false, why: `workspace ${wsId} is ${ws ? ws.state : 'gone'}` };
  }

  // ── the loop ────────────────────────────────────────────────────────────────────

  /** Step one event and run its effects; returns the refusal, if the step refused. */
  private apply(event: EngineEvent): ApiError | null {
    this.depth += 1;
    try {
      const nowMs = this.ports.clock.nowMs();
      const result = step(this.state, event, nowMs, this.policy);
      if (result.error) return result.error;
      if (result.effects.some((e) => e.type === 'write-snapshot' && e.sync)) {
        // Write-through: the intent is durable before anything else happens, or the
        // step never happened (its state is dropped, its effects never run).
        const failure = this.write(result.state);
        if (failure) return failure;
      }
      this.state = result.state;
      for (const effect of result.effects) this.run(effect);
      return null;
    } finally {
      this.depth -= 1;
      if (this.depth === 0) this.drain();
    }
  }

  /** Events from outside (kernel, timers) wait until the current step's effects ran. */
  private enqueue(event: EngineEvent): void {
    this.queue.push(event);
    if (this.depth === 0) this.drain();
  }

  private drain(): void {
    while (this.depth === 0 && this.queue.length > 0) {
      const event = this.queue.shift() as EngineEvent;
      this.apply(event);
    }
  }

  private onKernelEvent(event: KernelEvent): void {
    if (event.type === 'exit') {
      const { pid, code, signal } = event;
      if (this.workers?.onExit(pid, code, signal)) return;
      this.enqueue({ type: 'process-exited', pid, code, signal });
      return;
    }
    if (event.type === 'notify') {
      this.enqueue({ type: 'notify', pid: event.pid, message: event.message });
      return;
    }
    const verdict = discern(event.bytes);
    this.enqueue({ type: 'edge-sniffed', key: event.key, edgeIndex: event.edgeIndex, verdict });
  }

  private run(effect: Effect): void {
    switch (effect.type) {
      case 'spawn':
        this.runSpawn(effect);
        return;
      case 'spawn-group':
        this.runSpawnGroup(effect);
        return;
      case 'signal':
        this.ports.kernel.signal(effect.pid, effect.signal);
        return;
      case 'arm-timer':
        this.armTimer(effect.key, effect.atMs);
        return;
      case 'cancel-timer':
        this.cancelTimer(effect.key);
        return;
      case 'cgroup-create':
        this.runCgroupCreate(effect);
        return;
      case 'cgroup-kill':
      case 'cgroup-remove':
        this.runCgroupOp(effect);
        return;
      case 'sample':
        this.runSample(effect);
        return;
      case 'write-snapshot':
        if (!effect.sync) this.writeLater();
        return;
      case 'append-event':
        this.append(effect.ev, effect.fields);
        return;
      case 'release':
        this.ports.kernel.release(effect.key);
        return;
      case 'settle':
        this.settle(`${effect.kind}:${effect.id}`, {
          ok: true,
          value: { reaped: effect.reaped },
        });
        return;
    }
  }

  private runSpawn(effect: Extract<Effect, { type: 'spawn' }>): void {
    const result = this.ports.kernel.spawn(effect.key, effect.req);
    if (result.ok) {
      const wallMs = this.ports.clock.wallMs();
      this.apply({ type: 'spawned', cmdId: effect.cmdId, pid: result.value.pid, wallMs });
      return;
    }
    this.noteSpawnError(effect.cmdId, result.error);
    this.apply({ type: 'spawn-failed', cmdId: effect.cmdId, error: result.error });
  }

  private noteSpawnError(key: string, error: PortError): void {
    this.spawnErrors.delete(key);
    this.spawnErrors.set(key, error);
    const oldest = this.spawnErrors.keys().next();
    if (this.spawnErrors.size > SPAWN_ERRORS_MAX && !oldest.done)
      this.spawnErrors.delete(oldest.value);
  }

  private runSpawnGroup(effect: Extract<Effect, { type: 'spawn-group' }>): void {
    const result = this.ports.kernel.spawnGroup(effect.key, effect.req);
    const pipelineId = effect.pipelineId;
    if (result.ok) {
      const { pids, taps } = result.value;
      this.apply({ type: 'group-spawned', pipelineId, pids, taps });
      return;
    }
    this.noteSpawnError(pipelineId, result.error);
    this.apply({ type: 'group-spawn-failed', pipelineId, error: result.error });
  }

  private runCgroupCreate(effect: Extract<Effect, { type: 'cgroup-create' }>): void {
    const result = this.ports.cgroups.create(effect.relPath, effect.limits);
    if (result.ok) {
      this.apply({ type: 'cgroup-created', wsId: effect.wsId, handle: result.value.handle });
    } else {
      this.apply({ type: 'cgroup-failed', wsId: effect.wsId, error: result.error });
    }
  }

  private runCgroupOp(effect: Extract<Effect, { type: 'cgroup-kill' | 'cgroup-remove' }>): void {
    const { cgroups } = this.ports;
    const result =
      effect.type === 'cgroup-kill' ? cgroups.kill(effect.handle) : cgroups.remove(effect.handle);
    if (!result.ok) {
      const { reason, message } = result.error;
      this.append(`${effect.type}-failed`, { handle: effect.handle, reason, message });
    }
  }

  private runSample(effect: Extract<Effect, { type: 'sample' }>): void {
    const { wsId, atMs } = effect;
    const wallMs = this.ports.clock.wallMs();
    if (effect.cgroup) {
      const r = this.ports.cgroups.stats(effect.cgroup);
      if (r.ok) {
        const s = r.value;
        const sample = {
          source: 'cgroup' as const,
          alive: s.pids,
          memBytes: s.memBytes,
          memPeakBytes: s.memPeakBytes,
          cpuUs: s.cpuUs,
          oomKills: s.oomKills,
        };
        this.enqueue({ type: 'stats-sampled', wsId, sample, wallMs, atMs });
        return;
      }
    }
    if (effect.pids.length === 0) return;
    const s = this.ports.kernel.sample(effect.pids);
    const sample = {
      source: 'proc' as const,
      alive: s.alive,
      memBytes: s.rssBytes,
      memPeakBytes: s.rssBytes,
      cpuUs: s.cpuUs,
      oomKills: 0,
    };
    this.enqueue({ type: 'stats-sampled', wsId, sample, wallMs, atMs });
  }

  private armTimer(key: string, atMs: number): void {
    this.cancelTimer(key);
    if (this.closed) return;
    // A clock may fire a due timer inside setTimer, before the handle is known.
    let handle: TimerHandle | undefined;
    let firedEarly = false;
    handle = this.ports.clock.setTimer(atMs, () => {
      if (handle === undefined) {
        firedEarly = true;
        return;
      }
      if (this.timers.get(key) !== handle) return;
      this.timers.delete(key);
      this.enqueue({ type: 'timer-fired', key });
    });
    if (firedEarly) this.enqueue({ type: 'timer-fired', key });
    else this.timers.set(key, handle);
  }

  private cancelTimer(key: string): void {
    const handle = this.timers.get(key);
    if (handle === undefined) return;
    this.timers.delete(key);
    this.ports.clock.clearTimer(handle);
  }

  private append(ev: string, fields: Record<string, string | number | boolean>): void {
    const event: LifecycleEvent = { wallMs: this.ports.clock.wallMs(), ev, fields };
    this.ports.eventLog.append(event);
    for (const listener of this.listeners) listener(event);
  }

  private settle(key: string, result: Settled): void {
    const waiting = this.waiters.get(key) ?? [];
    this.waiters.delete(key);
    for (const resolve of waiting) resolve(result);
  }

  // ── persistence ─────────────────────────────────────────────────────────────────

  /** Write the snapshot of `state`; null on success (or nothing to write). */
  private write(state: EngineState): ApiError | null {
    if (this.storeBlocked) return { code: 'unavailable', message: this.storeBlocked };
    const text = encodeSnapshot(toSnapshot(state));
    if (text === this.lastWritten) return null;
    const result = this.ports.store.write(text);
    if (result.ok) {
      this.lastWritten = text;
      return null;
    }
    const { reason, message } = result.error;
    this.append('snapshot-write-failed', { reason, message });
    return { code: 'unavailable', message: `snapshot write failed: ${message}` };
  }

  private writeLater(): void {
    // After close() the snapshot flushed at shutdown stands: children dying now change nothing.
    if (this.closed) return;
    const failure = this.write(this.state);
    // Retry later, unless the store is blocked for good (a snapshot we could not move).
    if (failure && !this.storeBlocked) {
      this.enqueue({ type: 'snapshot-write-failed', message: failure.message });
    }
  }

  // ── Supervisor ──────────────────────────────────────────────────────────────────

  start(): RestoreReport {
    if (this.started) throw new Error('start() is called once');
    this.started = true;
    this.apply({ type: 'daemon-started', caps: this.ports.cgroups.caps() });
    const report = this.restore();
    const w = this.workers?.start();
    if (!w) return report;
    const queued = w.error ? `workers not loaded: ${w.error}` : `${w.workers} workers`;
    return { ...report, message: `${report.message}; ${queued}, ${w.tasks} queued tasks` };
  }

  private ensureCaps(): void {
    if (!this.state.caps) this.apply({ type: 'daemon-started', caps: this.ports.cgroups.caps() });
  }

  private restore(): RestoreReport {
    const read = this.ports.store.read();
    const empty = { workspaces: 0, savedPipelines: 0, relaunchedPipelines: 0 };
    if (read.kind === 'empty') {
      return { outcome: 'fresh', fromVersion: null, ...empty, message: 'no snapshot: fresh start' };
    }
    if (read.kind === 'error') return this.setAside(`unreadable: ${read.error.message}`);
    const decoded = decodeSnapshot(read.text);
    if (!decoded.ok) return this.setAside(`${decoded.reason}: ${decoded.message}`);
    const { snapshot, fromVersion } = decoded;
    const wallMs = this.ports.clock.wallMs();
    this.apply({ type: 'snapshot-restored', snapshot, wallMs });
    for (const pipeline of snapshot.livePipelines) {
      const nodeIds = pipeline.spec.nodes.map(() => this.ports.ids.next());
      this.apply({ type: 'pipeline-relaunch', pipeline, nodeIds });
    }
    const relaunchedPipelines = snapshot.livePipelines.filter(
      (lp) => this.state.pipelines.get(lp.id)?.spawns === 1,
    ).length;
    const workspaces = snapshot.workspaces.length;
    const savedPipelines = snapshot.savedPipelines.length;
    const message =
      `restored ${workspaces} workspaces, ${savedPipelines} saved pipelines, ` +
      `relaunched ${relaunchedPipelines} pipelines (snapshot v${fromVersion})`;
    return {
      outcome: 'restored',
      fromVersion,
      workspaces,
      savedPipelines,
      relaunchedPipelines,
      message,
    };
  }

  private setAside(why: string): RestoreReport {
    const moved = this.ports.store.setAside(why);
    const base = { fromVersion: null, workspaces: 0, savedPipelines: 0, relaunchedPipelines: 0 };
    if (moved.ok) {
      this.append('snapshot-set-aside', { reason: why, path: moved.value.path });
      const message = `snapshot set aside (${why}); moved to ${moved.value.path}; starting empty`;
      return { outcome: 'set-aside', ...base, message };
    }
    const why2 = moved.error.message;
    this.storeBlocked = `snapshot could not be set aside (${why2}); refusing to overwrite it`;
    this.append('snapshot-set-aside', { reason: why, failed: true, message: moved.error.message });
    return { outcome: 'set-aside', ...base, message: `${why}; ${this.storeBlocked}` };
  }

  flush(): void {
    this.apply({ type: 'flush' });
  }

  close(): void {
    this.closed = true;
    this.workers?.close();
    for (const handle of this.timers.values()) this.ports.clock.clearTimer(handle);
    this.timers.clear();
  }

  onEvent(listener: (event: LifecycleEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
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
    return this.waitFor(`workspace:${ws.id}`, {
      type: 'workspace-stop',
      ref: ws.id,
      graceMs,
      reason: 'operator',
    });
  }

  private waitFor(key: string, event: EngineEvent): Promise<Settled> {
    return new Promise<Settled>((resolve) => {
      const list = this.waiters.get(key) ?? [];
      list.push(resolve);
      this.waiters.set(key, list);
      const error = this.apply(event);
      if (error) {
        const rest = (this.waiters.get(key) ?? []).filter((r) => r !== resolve);
        if (rest.length > 0) this.waiters.set(key, rest);
        else this.waiters.delete(key);
        resolve({ ok: false, error });
      }
    });
  }

  quota(ref: string): ApiResult<QuotaView> {
    const ws = this.sampledNow(ref);
    if (!ws) return { ok: false, error: notFound(`no workspace "${ref}"`) };
    return { ok: true, value: quotaView(this.state, ws, this.policy) };
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

  private spawnError(key: string): ApiError {
    const e = this.spawnErrors.get(key);
    this.spawnErrors.delete(key);
    if (!e) throw new Error(`spawn of ${key} left nothing behind and reported no error`);
    const error: ApiError = { code: 'spawn_failed', message: e.message };
    if (e.errno !== undefined) error.errno = e.errno;
    if (e.syscall !== undefined) error.syscall = e.syscall;
    return error;
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

  restartCommand(ref: string, cmd: string): ApiResult<CommandView> {
    const ws = this.wsOf(ref);
    const rec = ws ? resolveCommand(this.state, ws, cmd) : null;
    this.spawnErrors.delete(rec?.id ?? '');
    const error = this.apply({ type: 'command-restart', ref, cmd });
    if (error) return { ok: false, error };
    if (rec && this.spawnErrors.has(rec.id)) {
      return { ok: false, error: this.spawnError(rec.id) };
    }
    return this.getCommand(ref, cmd);
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

  getPipeline(id: string): ApiResult<PipelineView> {
    const p = this.state.pipelines.get(id);
    if (!p) return { ok: false, error: notFound(`no pipeline "${id}"`) };
    return { ok: true, value: pipelineView(p) };
  }

  stopPipeline(id: string, graceMs: number): Promise<Settled> {
    if (!this.state.pipelines.has(id)) {
      return Promise.resolve({ ok: false, error: notFound(`no pipeline "${id}"`) });
    }
    return this.waitFor(`pipeline:${id}`, { type: 'pipeline-stop', id, graceMs });
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

  createWorker(ref: string, spec: WorkerSpec): ApiResult<WorkerView> {
    const ws = this.wsOf(ref);
    if (!ws) return { ok: false, error: notFound(`no workspace "${ref}"`) };
    if (ws.state !== 'running') {
      return { ok: false, error: { code: 'conflict', message: `workspace "${ref}" is stopping` } };
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
