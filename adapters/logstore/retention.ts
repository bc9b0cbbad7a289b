/**
 * Retention, decided without touching anything (pure: no `node:` imports, time is a
 * parameter; the walk and the removals are in sweep.ts). What goes after `keepDays`:
 * the logs of dead commands and stopped workspaces (a directory's age is its newest
 * file's), set-aside snapshots (`state.json.corrupt-*`, `.newer-*`) and stale temp files.
 * Logs of a live owner are never removed, however quiet. `keepDays` 0 keeps everything.
 * The walk runs at most once per `everyMs`, gated on a persisted last-run time.
 */

export const dayMs = 86_400_000;
export const keepDaysDefault = 30;
export const retentionEveryMs = 3_600_000;

export type RetentionKind = 'logs' | 'snapshot-aside' | 'temp';

export interface RetentionCandidate {
  path: string;
  kind: RetentionKind;
  /** Newest modification (for a log directory: of any file in it). */
  mtimeMs: number;
  /** Logs whose command or pipeline is alive (or may run again): kept. */
  ownerLive: boolean;
}

export interface RetentionRemoval {
  path: string;
  kind: RetentionKind;
  ageDays: number;
}

/** What to remove now: older than `keepDays` whole days and not owned by a live process. */
export function decideRetention(
  candidates: readonly RetentionCandidate[],
  keepDays: number,
  nowWallMs: number,
): RetentionRemoval[] {
  if (keepDays <= 0) return [];
  const cutoffMs = nowWallMs - keepDays * dayMs;
  const out: RetentionRemoval[] = [];
  for (const c of candidates) {
    if (c.ownerLive || c.mtimeMs >= cutoffMs) continue;
    out.push({ path: c.path, kind: c.kind, ageDays: Math.floor((nowWallMs - c.mtimeMs) / dayMs) });
  }
  return out;
}

/** Whether the walk may run: never run, or the last run is `everyMs` old (or in the future). */
export function retentionDue(
  lastRunWallMs: number | null,
  nowWallMs: number,
  everyMs = retentionEveryMs,
): boolean {
  if (lastRunWallMs === null) return true;
  if (lastRunWallMs > nowWallMs) return true; // the clock went back: do not wait for it
  return nowWallMs - lastRunWallMs >= everyMs;
}

/** A set-aside snapshot of `stateName` (`state.json.corrupt-…`, `state.json.newer-…`). */
export function isSetAside(name: string, stateName: string): boolean {
  return name.startsWith(`${stateName}.corrupt-`) || name.startsWith(`${stateName}.newer-`);
}

/**
 * A temp file of the state directory's atomic writes: `.<name>.tmp-<random hex>` beside
 * the snapshot, its ledger and the counters (adapters/store/file-store.ts `tempPathFor`),
 * or the older `.<name>.tmp-<pid>-<seq>`. The directory is the daemon's own (0700).
 */
export function isStoreTemp(name: string): boolean {
  return /^\.[^/]+\.tmp-[0-9a-f]+(-[0-9]+)?$/.test(name);
}

/**
 * At start, before this daemon writes anything: every temp file there is a dead
 * daemon's (a `kill -9` between writing one and renaming it over its target).
 */
export function staleAtStart(names: readonly string[]): string[] {
  return names.filter(isStoreTemp);
}

/** Flow sockets (`flow-*.sock`) in the runtime directory: stale at daemon start. */
export function isFlowSocket(name: string): boolean {
  return /^flow-.+\.sock$/.test(name);
}
