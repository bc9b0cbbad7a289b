/**
 * The imperative shell around `step`: holds the state, executes effects through the
 * ports, and feeds port results and kernel events back as events. Port results (spawn,
 * cgroup create) are fed back at once, before any queued kernel event, so an exit that
 * a port reports while spawning always finds its pid registered. The API methods live in
 * the facade (supervisor.ts).
 */

import { discern } from '../flow/index.js';
import type { Policy } from '../policy/index.js';
import type { KernelEvent, LifecycleEvent, PortError, Ports, TimerHandle } from '../ports.js';
import { encodeSnapshot } from '../snapshot/index.js';
import type { ApiError, ApiResult } from './api.js';
import type { Effect, EngineEvent, EngineOptions, EngineState } from './model.js';
import { toSnapshot } from './persist.js';
import { initialState, step } from './step.js';

export type Settled = ApiResult<{ reaped: number }>;

const SPAWN_ERRORS_MAX = 32;

type Fields = Record<string, string | number | boolean>;

export class Shell {
  private current: EngineState;
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
  /** After close() or once a shutdown began: the snapshot on disk stands as flushed. */
  private writesOff = false;
  private closed = false;
  /** Exits of processes the engine does not own (workers' tasks): true when taken. */
  exitHook:
    | ((pid: number, code: number | null, signal: string | null, startFailed?: string) => boolean)
    | null = null;

  constructor(
    readonly ports: Ports,
    options: EngineOptions,
    readonly policy: Policy,
  ) {
    this.current = initialState(options);
    ports.kernel.onEvent((event) => this.onKernelEvent(event));
  }

  get state(): EngineState {
    return this.current;
  }

  // ── the loop ────────────────────────────────────────────────────────────────────

  /** Step one event and run its effects; returns the refusal, if the step refused. */
  apply(event: EngineEvent): ApiError | null {
    this.depth += 1;
    try {
      const nowMs = this.ports.clock.nowMs();
      const result = step(this.current, event, nowMs, this.policy);
      if (result.error) return result.error;
      if (result.effects.some((e) => e.type === 'write-snapshot' && e.sync)) {
        // Write-through: the intent is durable before anything else happens, or the
        // step never happened (its state is dropped, its effects never run).
        const failure = this.write(result.state);
        if (failure) return failure;
      }
      this.current = result.state;
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
      if (this.exitHook?.(pid, code, signal, event.startFailed)) return;
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
        this.settle(`${effect.kind}:${effect.id}`, { ok: true, value: { reaped: effect.reaped } });
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
    if (this.spawnErrors.size > SPAWN_ERRORS_MAX && !oldest.done) {
      this.spawnErrors.delete(oldest.value);
    }
  }

  /** The spawn error an API call caused (and forget it); null when there was none. */
  takeSpawnError(key: string): PortError | null {
    const error = this.spawnErrors.get(key) ?? null;
    this.spawnErrors.delete(key);
    return error;
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
    const { handle, attempt } = effect;
    const result = effect.type === 'cgroup-kill' ? cgroups.kill(handle) : cgroups.remove(handle);
    if (result.ok) return;
    const { reason, message } = result.error;
    if (reason === 'Busy') {
      const op = effect.type === 'cgroup-kill' ? 'kill' : 'remove';
      this.enqueue({ type: 'cgroup-busy', op, handle, attempt });
      return;
    }
    this.append(`${effect.type}-failed`, { handle, reason, message });
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

  append(ev: string, fields: Fields): void {
    const event: LifecycleEvent = { wallMs: this.ports.clock.wallMs(), ev, fields };
    this.ports.eventLog.append(event);
    for (const listener of this.listeners) listener(event);
  }

  onEvent(listener: (event: LifecycleEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private settle(key: string, result: Settled): void {
    const waiting = this.waiters.get(key) ?? [];
    this.waiters.delete(key);
    for (const resolve of waiting) resolve(result);
  }

  /** Step `event`; resolves when its stop settles (`key`), or at once with a refusal. */
  waitFor(key: string, event: EngineEvent): Promise<Settled> {
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

  writeLater(): void {
    if (this.writesOff) return;
    const failure = this.write(this.current);
    // Retry later, unless the store is blocked for good (a snapshot we could not move).
    if (failure && !this.storeBlocked) {
      this.enqueue({ type: 'snapshot-write-failed', message: failure.message });
    }
  }

  /** Never overwrite the store again (a snapshot that could not be set aside). */
  blockStore(message: string): void {
    this.storeBlocked = message;
  }

  /** From now on the snapshot on disk stands: children dying change nothing in it. */
  stopWriting(): void {
    this.writesOff = true;
  }

  close(): void {
    this.closed = true;
    this.writesOff = true;
    for (const handle of this.timers.values()) this.ports.clock.clearTimer(handle);
    this.timers.clear();
  }
}
