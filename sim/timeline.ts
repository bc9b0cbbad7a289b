/**
 * Incarnations per (daemon generation, key), rebuilt incrementally from the SimKernel's
 * spawn and exit records in their global order. A new spawn of a key that already ran
 * in the same generation is a restart observation, handed to the checkers.
 */

import type { ExitRecord, SimKernel, SpawnRecord } from './kernel.js';

export interface Incarnation {
  key: string;
  gen: number;
  startMs: number;
  seq: number;
  pids: number[];
  spawned: boolean;
  exits: ExitRecord[];
  /** When the last exit was delivered (all dead); the attempt time for a failed spawn. */
  endMs: number | null;
}

export interface RestartObservation {
  key: string;
  gen: number;
  prev: Incarnation;
  next: Incarnation;
  /** All incarnations of the key in this generation, `next` last. */
  history: Incarnation[];
}

export function isFailedIncarnation(inc: Incarnation): boolean {
  return !inc.spawned || inc.exits.some((e) => e.signal !== null || e.code !== 0);
}

const NONE: readonly never[] = [];

export class Timeline {
  private spawnCursor = 0;
  private exitCursor = 0;
  private readonly byKey = new Map<string, Incarnation[]>();
  private readonly byPid = new Map<number, Incarnation>();

  history(gen: number, key: string): Incarnation[] {
    return this.byKey.get(`${gen}/${key}`) ?? [];
  }

  incarnationOf(pid: number): Incarnation | undefined {
    return this.byPid.get(pid);
  }

  /**
   * Consume new kernel records; returns the spawns and the restarts they reveal, in order
   * (one shared empty list when there are none: most steps spawn nothing).
   */
  update(kernel: SimKernel): {
    restarts: readonly RestartObservation[];
    spawns: readonly SpawnRecord[];
  } {
    let restarts: RestartObservation[] | null = null;
    let spawns: SpawnRecord[] | null = null;
    for (;;) {
      const s = kernel.spawns[this.spawnCursor];
      const x = kernel.exits[this.exitCursor];
      if (s === undefined && x === undefined) break;
      if (s !== undefined && (x === undefined || s.seq < x.seq)) {
        this.spawnCursor += 1;
        spawns ??= [];
        spawns.push(s);
        const observed = this.onSpawn(s);
        if (observed !== null) {
          restarts ??= [];
          restarts.push(observed);
        }
      } else if (x !== undefined) {
        this.exitCursor += 1;
        this.onExit(x);
      }
    }
    return { restarts: restarts ?? NONE, spawns: spawns ?? NONE };
  }

  private onSpawn(s: SpawnRecord): RestartObservation | null {
    const inc: Incarnation = {
      key: s.key,
      gen: s.gen,
      startMs: s.atMs,
      seq: s.seq,
      pids: s.pids,
      spawned: s.ok,
      exits: [],
      endMs: s.ok ? null : s.atMs,
    };
    for (const pid of s.pids) this.byPid.set(pid, inc);
    const id = `${s.gen}/${s.key}`;
    const list = this.byKey.get(id) ?? [];
    list.push(inc);
    this.byKey.set(id, list);
    const prev = list[list.length - 2];
    if (prev === undefined) return null;
    return { key: s.key, gen: s.gen, prev, next: inc, history: list };
  }

  private onExit(x: ExitRecord): void {
    const inc = this.byPid.get(x.pid);
    if (inc === undefined) return;
    inc.exits.push(x);
    if (inc.exits.length === inc.pids.length) inc.endMs = x.deliveredAtMs;
  }
}
