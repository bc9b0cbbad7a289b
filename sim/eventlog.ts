/**
 * SimEventLog — the lifecycle event log, as an in-memory list the checkers read.
 * Fault model: none (the real log is best-effort and never blocks the engine).
 */

import type { EventLog, LifecycleEvent } from '../core/ports.js';

export interface LoggedEvent extends LifecycleEvent {
  gen: number;
  atMs: number;
}

export class SimEventLog {
  readonly events: LoggedEvent[] = [];

  constructor(private readonly nowMs: () => number) {}

  port(gen: number): EventLog {
    return {
      append: (event) => {
        this.events.push({ ...event, fields: { ...event.fields }, gen, atMs: this.nowMs() });
      },
    };
  }
}
