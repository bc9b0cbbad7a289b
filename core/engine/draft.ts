/**
 * A step's working copy: maps are copied on first write, records are replaced, never
 * mutated, so the state the step started from is untouched (rollback = keep it).
 */

import type { Policy } from '../policy/index.js';
import type { ApiError } from './api.js';
import type {
  CommandRec,
  Effect,
  EngineEvent,
  EngineState,
  PidOwner,
  PipelineRec,
  RaisedEvent,
  SavedRec,
  StepResult,
  WorkspaceRec,
} from './model.js';
import { encodeTimer, type TimerKey } from './timers.js';

type Tables = {
  workspaces: WorkspaceRec;
  commands: CommandRec;
  pipelines: PipelineRec;
  saved: SavedRec;
};

export class Draft {
  state: EngineState;
  readonly effects: Effect[] = [];
  error: ApiError | null = null;
  /** Raised events, drained by `step` after the current handler (FIFO). */
  readonly raised: EngineEvent[] = [];
  /** Tables copied into this step's state already (a handful at most). */
  private readonly owned: (keyof EngineState)[] = [];

  constructor(
    base: EngineState,
    readonly nowMs: number,
    readonly policy: Policy,
  ) {
    this.state = { ...base };
  }

  /**
   * The table `key` of this step's state, copied on first write. `this.state` is always
   * the step's own object (copied in the constructor, and every reassignment is a fresh
   * spread), so the copy is stored into it in place: the state keeps its shape.
   */
  private own<K extends keyof EngineState>(key: K): EngineState[K] {
    if (!this.owned.includes(key)) {
      const current = this.state[key];
      if (!(current instanceof Map)) throw new Error(`draft: ${String(key)} is not a table`);
      // Copied by forEach: `new Map(current)` goes through the iterator and allocates an
      // entry array per record, garbage on every step that writes a table.
      const copy = new Map();
      current.forEach((value, k) => {
        copy.set(k, value);
      });
      (this.state as Record<K, EngineState[K]>)[key] = copy as unknown as EngineState[K];
      this.owned.push(key);
    }
    return this.state[key];
  }

  put<K extends keyof Tables>(table: K, rec: Tables[K]): void {
    const key = 'id' in rec ? rec.id : rec.name;
    (this.own(table) as Map<string, Tables[K]>).set(key, rec);
  }

  delete<K extends keyof Tables>(table: K, id: string): void {
    (this.own(table) as Map<string, Tables[K]>).delete(id);
  }

  setPid(pid: number, owner: PidOwner): void {
    (this.own('pids') as Map<number, PidOwner>).set(pid, owner);
  }

  deletePid(pid: number): void {
    (this.own('pids') as Map<number, PidOwner>).delete(pid);
  }

  emit(effect: Effect): void {
    this.effects.push(effect);
  }

  event(ev: string, fields: Record<string, string | number | boolean>): void {
    this.effects.push({ type: 'append-event', ev, fields });
  }

  raise(event: RaisedEvent | Extract<EngineEvent, { type: 'workspace-stop' }>): void {
    this.raised.push(event);
  }

  armTimer(timer: TimerKey, atMs: number): void {
    const key = encodeTimer(timer);
    if (!Number.isInteger(atMs)) throw new Error(`armTimer ${key}: atMs must be an integer`);
    (this.own('timers') as Map<string, number>).set(key, atMs);
    this.effects.push({ type: 'arm-timer', key, atMs });
  }

  cancelTimer(timer: TimerKey): void {
    const key = encodeTimer(timer);
    if (!this.state.timers.has(key)) return;
    (this.own('timers') as Map<string, number>).delete(key);
    this.effects.push({ type: 'cancel-timer', key });
  }

  /** When a timer is due, if it is armed. */
  timerAt(timer: TimerKey): number | undefined {
    return this.state.timers.get(encodeTimer(timer));
  }

  /** A timer that fired is no longer armed (`key` as the shell holds it, encoded). */
  timerFired(key: string): boolean {
    if (!this.state.timers.has(key)) return false;
    (this.own('timers') as Map<string, number>).delete(key);
    return true;
  }

  /** Intent changed: write-through now; a failed write aborts the step. */
  writeThrough(): void {
    this.state = { ...this.state, dirty: false };
    this.effects.push({ type: 'write-snapshot', sync: true });
  }

  /** Derived data changed: save after `delayMs` (saveDelayMs), or sooner if already due. */
  markDirty(delayMs = this.state.options.saveDelayMs): void {
    if (!this.state.dirty) this.state = { ...this.state, dirty: true };
    const atMs = this.nowMs + delayMs;
    const armedAtMs = this.timerAt({ kind: 'save' });
    if (armedAtMs === undefined || armedAtMs > atMs) this.armTimer({ kind: 'save' }, atMs);
  }

  refuse(error: ApiError): void {
    this.error = error;
  }

  result(base: EngineState): StepResult {
    if (this.error) return { state: base, effects: [], error: this.error };
    return { state: this.state, effects: this.effects, error: null };
  }
}

export function workspaceOf(state: EngineState, id: string): WorkspaceRec {
  const ws = state.workspaces.get(id);
  if (!ws) throw new Error(`engine: workspace ${id} must exist`);
  return ws;
}

export function commandOf(state: EngineState, id: string): CommandRec {
  const cmd = state.commands.get(id);
  if (!cmd) throw new Error(`engine: command ${id} must exist`);
  return cmd;
}

export function pipelineOf(state: EngineState, id: string): PipelineRec {
  const p = state.pipelines.get(id);
  if (!p) throw new Error(`engine: pipeline ${id} must exist`);
  return p;
}

/** A workspace by id or unique label. */
export function resolveWorkspace(state: EngineState, ref: string): WorkspaceRec | null {
  const byId = state.workspaces.get(ref);
  if (byId) return byId;
  for (const ws of state.workspaces.values()) if (ws.spec.label === ref) return ws;
  return null;
}

/** A command of a workspace by id or label. */
export function resolveCommand(
  state: EngineState,
  ws: WorkspaceRec,
  ref: string,
): CommandRec | null {
  const byId = state.commands.get(ref);
  if (byId && byId.wsId === ws.id) return byId;
  for (const id of ws.commandIds) {
    const cmd = state.commands.get(id);
    if (cmd?.label === ref) return cmd;
  }
  return null;
}

/** A pipeline by id or label; a label several carry names the one live, if only one is. */
export function resolvePipeline(
  state: EngineState,
  ref: string,
): { ok: true; value: PipelineRec } | { ok: false; error: ApiError } {
  const byId = state.pipelines.get(ref);
  if (byId) return { ok: true, value: byId };
  const named = [...state.pipelines.values()].filter((p) => p.label === ref);
  const live = named.filter((p) => p.finishedSeq === 0);
  const [only] = named.length === 1 ? named : live.length === 1 ? live : [];
  if (only) return { ok: true, value: only };
  if (named.length === 0) {
    return { ok: false, error: { code: 'not_found', message: `no pipeline "${ref}"` } };
  }
  const ids = named.map((p) => p.id).join(', ');
  const message = `pipeline label "${ref}" is ambiguous: ${ids}; use an id`;
  return { ok: false, error: { code: 'conflict', message } };
}
