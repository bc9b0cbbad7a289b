/**
 * Restart counters that never go down (a Prometheus counter must not): the sum of the
 * restarts of every command and pipeline the daemon has seen, kept per entity at its
 * highest value, and moved to a retired total when the entity goes away (a workspace
 * stop). Observed on every lifecycle event, so increments are caught before the entity
 * vanishes: an event that names a command or a pipeline refreshes just that one (the
 * engine names the entity in every event of a step that changes its restarts: `run`,
 * `spawn-failed`, `pipeline-run`, …), a worker's event none, any other event walks them
 * all (restore, a workspace's stop). Walking all on every event made an apply of N services
 * cost N² views. With a path, the totals are persisted before any scrape shows a larger
 * value, so they survive a restart (or a kill -9) of the daemon too.
 */

import { readFileSync } from 'node:fs';
import type { Supervisor } from '../../core/engine/api.js';
import type { LifecycleEvent } from '../../core/ports.js';
import { writeSmallFile } from '../store/small-file.js';

export type RestartKind = 'command' | 'pipeline';

export interface RestartCounters {
  /** Observes the supervisor now and returns the totals (persisting them first). */
  totals(): Record<RestartKind, number>;
  /** Stops listening to the supervisor. */
  close(): void;
}

interface Persisted {
  retired: Record<RestartKind, number>;
  /** `command:<id>` / `pipeline:<id>` → highest restarts seen. */
  seen: Record<string, number>;
}

function load(path: string | undefined): Persisted {
  const empty: Persisted = { retired: { command: 0, pipeline: 0 }, seen: {} };
  if (path === undefined) return empty;
  try {
    const raw = JSON.parse(readFileSync(path, 'utf8')) as Partial<Persisted>;
    const count = (v: unknown) =>
      Number.isSafeInteger(v) && (v as number) >= 0 ? (v as number) : 0;
    const seen: Record<string, number> = {};
    for (const [k, v] of Object.entries(raw.seen ?? {})) seen[k] = count(v);
    return {
      retired: { command: count(raw.retired?.command), pipeline: count(raw.retired?.pipeline) },
      seen,
    };
  } catch {
    return empty; // Absent or unreadable: counting starts again (a counter reset).
  }
}

/** Every command and pipeline the supervisor knows now, with its restarts. */
function current(sup: Supervisor): Map<string, number> {
  const out = new Map<string, number>();
  for (const ws of sup.listWorkspaces()) {
    const cmds = sup.listCommands(ws.id);
    if (cmds.ok) for (const c of cmds.value) out.set(`command:${c.id}`, c.restarts);
  }
  for (const p of sup.listPipelines()) out.set(`pipeline:${p.id}`, p.restarts);
  return out;
}

/**
 * The one entity an event is about (`command:<id>` / `pipeline:<id>` and its restarts);
 * `none` when there is nothing to read (it is gone, or the event is a worker's: workers'
 * tasks are not commands), `unnamed` when the event names no entity.
 */
type Named = { key: string; restarts: number } | 'none' | 'unnamed';

function named(sup: Supervisor, fields: LifecycleEvent['fields']): Named {
  const { ws, cmd, pipeline, worker } = fields;
  if (typeof cmd === 'string' && typeof ws === 'string') {
    const c = sup.getCommand(ws, cmd);
    return c.ok ? { key: `command:${c.value.id}`, restarts: c.value.restarts } : 'none';
  }
  if (typeof pipeline === 'string') {
    const p = sup.getPipeline(pipeline);
    return p.ok ? { key: `pipeline:${p.value.id}`, restarts: p.value.restarts } : 'none';
  }
  return typeof worker === 'string' ? 'none' : 'unnamed';
}

export function createRestartCounters(sup: Supervisor, path?: string): RestartCounters {
  const state = load(path);
  let persistedText = '';
  const see = (key: string, restarts: number) => {
    const before = state.seen[key];
    if (before === undefined || restarts > before) state.seen[key] = restarts;
  };
  const observe = () => {
    const now = current(sup);
    for (const [key, restarts] of now) see(key, restarts);
    for (const key of Object.keys(state.seen)) {
      if (now.has(key)) continue;
      const kind: RestartKind = key.startsWith('pipeline:') ? 'pipeline' : 'command';
      state.retired[kind] += state.seen[key] ?? 0;
      delete state.seen[key];
    }
  };
  const off = sup.onEvent((event) => {
    const one = named(sup, event.fields);
    // A named entity that is gone was seen at its last change; the next walk retires it.
    if (one === 'unnamed') observe();
    else if (one !== 'none') see(one.key, one.restarts);
  });
  return {
    totals() {
      observe();
      const sums = { ...state.retired };
      for (const [key, n] of Object.entries(state.seen)) {
        sums[key.startsWith('pipeline:') ? 'pipeline' : 'command'] += n;
      }
      const text = JSON.stringify(state);
      if (path !== undefined && text !== persistedText) {
        // Before the reply: no scrape ever sees a total the file does not hold.
        if (writeSmallFile(path, text)) persistedText = text;
      }
      return sums;
    },
    close: off,
  };
}
