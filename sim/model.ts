/**
 * What the runner knows from acknowledged API calls (a call that returned ok): the
 * oracle the checkers compare the engine and the simulated world against. Deliberately
 * simpler than the engine: no state machine, only facts with their times.
 */

import type { CrashLoopPolicy, RestartPolicy, WorkspaceSpec } from '../core/manifest/types.js';

export interface WsFact {
  index: number;
  id: string;
  spec: WorkspaceSpec;
  gen: number;
  createdAtMs: number;
  /** Kernel record sequence just before the create call. */
  createSeq: number;
  /** Length of the cgroup create log just before the create call: later entries are its. */
  cgroupCreatesBefore: number;
  /** store.writes.length when acknowledged: durable once a later write succeeded. */
  ackWrite: number;
  stopAtMs: number | null;
  stopGen: number | null;
  /** Kernel record sequence when the stop was requested. */
  stopSeq: number;
  stopGraceMs: number;
  /** Set when the stop promise resolved. */
  stopDoneAtMs: number | null;
}

export interface KeyFact {
  key: string;
  kind: 'command' | 'pipeline';
  wsId: string;
  supervised: boolean;
  /** Commands: the watchdog period (0 = none). */
  watchdogMs: number;
  /** Commands: `ready = "notify"` (started at READY=1, not at exec). */
  readyNotify: boolean;
  /** Commands with notify: killed when READY=1 has not come this long after exec (0 = none). */
  readyTimeoutMs: number;
  policy: RestartPolicy;
  /** restart = "always": a clean exit is restarted like a failure. */
  always: boolean;
  crashLoop: CrashLoopPolicy;
  gen: number;
  ackWrite: number;
  /** Pipeline stop requested (operator). */
  stopAtMs: number | null;
  stopGen: number | null;
  stopSeq: number;
  stopGraceMs: number;
  stopDoneAtMs: number | null;
  /** Kernel record sequence at each operator restart request. */
  operatorRestartSeqs: number[];
}

export interface SavedFact {
  name: string;
  source: string;
  savedWrite: number;
  /** The daemon died inside a save or drop of it: its fate on disk is unknown. */
  uncertain: boolean;
  droppedWrite: number | null;
}

export interface StopFact {
  atMs: number;
  graceMs: number;
  seq: number;
}

export class Model {
  readonly workspaces: WsFact[] = [];
  readonly wsById = new Map<string, WsFact>();
  readonly keys = new Map<string, KeyFact>();
  /** Commands in acknowledgement order (for `restart-cmd` by index). */
  readonly commands: KeyFact[] = [];
  readonly pipelines: KeyFact[] = [];
  readonly saved = new Map<string, SavedFact>();

  addWorkspace(fact: WsFact): void {
    this.workspaces.push(fact);
    this.wsById.set(fact.id, fact);
  }

  addKey(fact: KeyFact): void {
    this.keys.set(fact.key, fact);
    (fact.kind === 'command' ? this.commands : this.pipelines).push(fact);
  }

  /** The workspace stop that applies to `key` in generation `gen`, if any. */
  stopOf(key: KeyFact, gen: number): StopFact | null {
    // Asked for every live process after every step: nothing is allocated without a stop.
    const ws = this.wsById.get(key.wsId);
    const wsStopped = ws !== undefined && ws.stopAtMs !== null && ws.stopGen === gen;
    const keyStopped = key.stopAtMs !== null && key.stopGen === gen;
    // The earlier of the two; the workspace's on a tie.
    if (wsStopped && !(keyStopped && (key.stopAtMs as number) < (ws.stopAtMs as number))) {
      return { atMs: ws.stopAtMs as number, graceMs: ws.stopGraceMs, seq: ws.stopSeq };
    }
    if (keyStopped) {
      return { atMs: key.stopAtMs as number, graceMs: key.stopGraceMs, seq: key.stopSeq };
    }
    return null;
  }
}
