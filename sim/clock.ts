/**
 * SimClock — virtual time for the `Clock` port.
 *
 * Fault model: none of its own. Time moves only when the runner calls `advance(ms)`,
 * `advanceTo(atMs)` or `tick()`; timers fire in order of their due time, ties in order of
 * insertion, never synchronously inside `setTimer`. A timer armed in the past fires on the
 * next advance. Late delivery of kernel events is a kernel fault, modelled on top of this.
 */

import type { Clock, TimerHandle } from '../core/ports.js';

interface Timer {
  atMs: number;
  seq: number;
  handle: TimerHandle;
  fire: () => void;
  /** Cleared before it fired: dropped when it reaches the head of the heap. */
  cancelled: boolean;
}

/** 2026-01-01T00:00:00Z: wall time starts here so ULIDs and displays look real. */
export const SIM_WALL_BASE_MS = 1_767_225_600_000;

export class SimClock implements Clock {
  private timeMs = 0;
  private seq = 0;
  private heap: Timer[] = [];
  /** Timers armed and neither fired nor cleared, by handle. */
  private readonly live = new Map<TimerHandle, Timer>();
  /** Timers fired since creation (for the summary). */
  fired = 0;

  constructor(
    private readonly tickMs = 10,
    private readonly wallBaseMs = SIM_WALL_BASE_MS,
  ) {}

  nowMs(): number {
    return this.timeMs;
  }

  wallMs(): number {
    return this.wallBaseMs + this.timeMs;
  }

  setTimer(atMs: number, fire: () => void): TimerHandle {
    if (!Number.isFinite(atMs)) throw new Error(`SimClock.setTimer: atMs ${atMs} is not finite`);
    this.seq += 1;
    const timer: Timer = {
      atMs: Math.ceil(atMs),
      seq: this.seq,
      handle: this.seq,
      fire,
      cancelled: false,
    };
    this.push(timer);
    this.live.set(timer.handle, timer);
    return timer.handle;
  }

  clearTimer(handle: TimerHandle): void {
    const timer = this.live.get(handle);
    if (timer === undefined) return;
    this.live.delete(handle);
    timer.cancelled = true;
  }

  /** Due time of the earliest pending timer, or null. */
  nextDueMs(): number | null {
    this.dropCancelledHead();
    return this.heap[0]?.atMs ?? null;
  }

  pendingTimers(): number {
    return this.live.size;
  }

  /** Move time forward by `ms`, firing every timer due on the way, in order. */
  advance(ms: number): void {
    if (!Number.isInteger(ms) || ms < 0) throw new Error(`SimClock.advance: bad ms ${ms}`);
    this.advanceTo(this.timeMs + ms);
  }

  advanceTo(atMs: number): void {
    if (atMs < this.timeMs) throw new Error(`SimClock.advanceTo: ${atMs} is in the past`);
    for (;;) {
      const timer = this.popDue(atMs);
      if (timer === null) break;
      if (timer.atMs > this.timeMs) this.timeMs = timer.atMs;
      this.fired += 1;
      timer.fire();
    }
    this.timeMs = atMs;
  }

  /**
   * Fire only the timers due at the earliest pending instant (if ≤ `limitMs`) and stop
   * there, so the runner can check invariants between batches. Returns false when nothing
   * was due before the limit (time is then moved to `limitMs`).
   */
  advanceBatch(limitMs: number): boolean {
    const due = this.nextDueMs();
    if (due === null || due > limitMs) {
      this.timeMs = Math.max(this.timeMs, limitMs);
      return false;
    }
    this.advanceTo(Math.max(due, this.timeMs));
    return true;
  }

  tick(): void {
    this.advance(this.tickMs);
  }

  private popDue(limitMs: number): Timer | null {
    this.dropCancelledHead();
    const head = this.heap[0];
    if (head === undefined || head.atMs > limitMs) return null;
    this.pop();
    this.live.delete(head.handle);
    return head;
  }

  private dropCancelledHead(): void {
    for (;;) {
      const head = this.heap[0];
      if (head === undefined || !head.cancelled) return;
      this.pop();
    }
  }

  private push(timer: Timer): void {
    const heap = this.heap;
    heap.push(timer);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const child = heap[i] as Timer;
      const above = heap[parent] as Timer;
      if (!before(child, above)) break;
      heap[i] = above;
      heap[parent] = child;
      i = parent;
    }
  }

  private pop(): void {
    const heap = this.heap;
    const last = heap.pop();
    if (last === undefined || heap.length === 0) return;
    heap[0] = last;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let best = i;
      if (left < heap.length && before(heap[left] as Timer, heap[best] as Timer)) best = left;
      if (right < heap.length && before(heap[right] as Timer, heap[best] as Timer)) best = right;
      if (best === i) return;
      const moved = heap[i] as Timer;
      heap[i] = heap[best] as Timer;
      heap[best] = moved;
      i = best;
    }
  }
}

function before(x: Timer, y: Timer): boolean {
  return x.atMs < y.atMs || (x.atMs === y.atMs && x.seq < y.seq);
}
