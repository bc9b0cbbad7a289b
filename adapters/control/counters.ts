/**
 * Restart counters that never go down (a Prometheus counter must not): the sum of the
 * restarts of every command and pipeline the daemon has seen, kept per entity at its
 * highest value, and moved to a retired total when the entity goes away (a workspace
 * stop). Observed on every lifecycle event, so increments are caught before the entity
 * vanishes. With a path, the totals are persisted before any scrape shows a larger value,
 * so they survive a restart (or a kill -9) of the daemon too.
 */

import { readFileSync } from 'node:fs';
import type { Supervisor } from '../../core/engine/api.js';
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

export function createRestartCounters(sup: Supervisor, path?: string): RestartCounters {
  const state = load(path);
  let persistedText = '';
  const observe = () => {
    const now = current(sup);
    for (const [key, restarts] of now) state.seen[key] = Math.max(state.seen[key] ?? 0, restarts);
    for (const key of Object.keys(state.seen)) {
      if (now.has(key)) continue;
      const kind: RestartKind = key.startsWith('pipeline:') ? 'pipeline' : 'command';
      state.retired[kind] += state.seen[key] ?? 0;
      delete state.seen[key];
    }
  };
  const off = sup.onEvent(() => observe());
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
