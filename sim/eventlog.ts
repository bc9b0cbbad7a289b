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
        // Copied as the file adapter renders it at once: a later change to the engine's
        // object cannot rewrite what was logged. Field by field, not by a spread of `event`
        // (a spread of an object of unknown shape is several times slower).
        const { wallMs, ev } = event;
        this.events.push({ wallMs, ev, fields: { ...event.fields }, gen, atMs: this.nowMs() });
      },
    };
  }
}
