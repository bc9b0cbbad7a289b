/**
 * The retention walk (the decisions are in retention.ts): at daemon start, temp files a
 * killed daemon left and stale flow sockets go at once; then, at most once an hour (the
 * last run's wall time is kept in `<state dir>/retention.last`, so a short tick reads a
 * number, never the tree), old logs of dead owners, set-aside snapshots and temp files
 * go after `keepDays`. Every removal is a lifecycle event.
 */

import {
  mkdirSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { LifecycleEvent } from '../../core/ports.js';
import { listKeyDirs } from './meta.js';
import {
  decideRetention,
  isFlowSocket,
  isSetAside,
  isStoreTemp,
  type RetentionCandidate,
  type RetentionRemoval,
  retentionDue,
  staleAtStart,
} from './retention.js';

export interface SweepOptions {
  statePath: string;
  logRoot: string;
  /** Where flow sockets live. */
  socketDir: string;
  keepDays: number;
  /** Command ids and pipeline ids whose logs must stay (alive, or may run again). */
  liveKeys(): Set<string>;
  wallMs(): number;
  event(event: LifecycleEvent): void;
  pid?: number;
}

function names(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function mtimeMsOf(path: string): number {
  try {
    return Math.floor(statSync(path).mtimeMs);
  } catch {
    return Number.MAX_SAFE_INTEGER; // gone: never "old"
  }
}

function remove(path: string): boolean {
  try {
    rmSync(path, { recursive: true, force: true });
    return true;
  } catch {
    return false;
  }
}

/** At start: temp files of dead daemons and every flow socket (no flow is live yet). */
export function sweepAtStart(o: SweepOptions): string[] {
  const stateDir = dirname(o.statePath);
  const stale = [
    ...staleAtStart(names(stateDir)).map((n) => join(stateDir, n)),
    ...names(o.socketDir)
      .filter(isFlowSocket)
      .map((n) => join(o.socketDir, n)),
  ];
  const removed = stale.filter(remove);
  for (const path of removed) {
    o.event({ wallMs: o.wallMs(), ev: 'sweep-remove', fields: { path, reason: 'stale' } });
  }
  return removed;
}

export function retentionCandidates(o: SweepOptions): RetentionCandidate[] {
  const stateDir = dirname(o.statePath);
  const stateName = basename(o.statePath);
  const live = o.liveKeys();
  const out: RetentionCandidate[] = [];
  for (const e of listKeyDirs(o.logRoot)) {
    const ownerLive = live.has(e.key) || live.has(e.key.split('/')[0]!);
    out.push({ path: e.dir, kind: 'logs', mtimeMs: e.mtimeMs, ownerLive });
  }
  for (const n of names(stateDir)) {
    const path = join(stateDir, n);
    if (isSetAside(n, stateName)) {
      out.push({ path, kind: 'snapshot-aside', mtimeMs: mtimeMsOf(path), ownerLive: false });
    } else if (isStoreTemp(n)) {
      out.push({ path, kind: 'temp', mtimeMs: mtimeMsOf(path), ownerLive: false });
    }
  }
  return out;
}

/** Removes what retention decides; empty pipeline directories go with their last node. */
export function applyRetention(o: SweepOptions): RetentionRemoval[] {
  const removals = decideRetention(retentionCandidates(o), o.keepDays, o.wallMs());
  const done: RetentionRemoval[] = [];
  for (const r of removals) {
    if (!remove(r.path)) continue;
    done.push(r);
    o.event({
      wallMs: o.wallMs(),
      ev: 'retention-remove',
      fields: { path: r.path, kind: r.kind, age_days: r.ageDays, keep_days: o.keepDays },
    });
    const parent = dirname(r.path);
    if (r.kind === 'logs' && parent !== o.logRoot && names(parent).length === 0) {
      try {
        rmdirSync(parent);
      } catch {
        // not empty after all
      }
    }
  }
  return done;
}

export function lastRunPath(statePath: string): string {
  return join(dirname(statePath), 'retention.last');
}

/**
 * A gated retention pass: reads the persisted last run once, then checks the time only.
 * Returns the tick function (null result: not due).
 */
export function retentionGate(o: SweepOptions): () => RetentionRemoval[] | null {
  let lastRunWallMs: number | null | undefined;
  return () => {
    if (lastRunWallMs === undefined) {
      try {
        const n = Number(readFileSync(lastRunPath(o.statePath), 'utf8').trim());
        lastRunWallMs = Number.isSafeInteger(n) ? n : null;
      } catch {
        lastRunWallMs = null;
      }
    }
    const now = o.wallMs();
    if (!retentionDue(lastRunWallMs, now)) return null;
    lastRunWallMs = now;
    try {
      mkdirSync(dirname(o.statePath), { recursive: true, mode: 0o700 });
      writeFileSync(lastRunPath(o.statePath), `${now}\n`, { mode: 0o600 });
    } catch {
      // the gate still holds in memory
    }
    return applyRetention(o);
  };
}

/**
 * Ticks every `tickMs` (unref'd: it never keeps the daemon up); the first at once. The gate
 * is hourly, so the tick is too (a little over, so the wall clock has passed the hour): a
 * minute's tick woke an idle daemon 60 times an hour for nothing.
 */
export function startRetention(o: SweepOptions, tickMs = 3_660_000): () => void {
  const tick = retentionGate(o);
  tick();
  const timer = setInterval(tick, tickMs);
  timer.unref();
  return () => clearInterval(timer);
}
