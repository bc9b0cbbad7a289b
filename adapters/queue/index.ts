/** The queue store adapter: SQLite behind the QueueStore port, opened by the daemon. */

import { dirname, join } from 'node:path';
import { openSqliteQueueStore, type SqliteQueueStore } from './sqlite-store.js';

export {
  openSqliteQueueStore,
  reasonForSqliteCode,
  type SqliteQueueOptions,
  type SqliteQueueStore,
} from './sqlite-store.js';

/**
 * `SHIPOTE_QUEUE`, else `queue.db` beside the snapshot. `SHIPOTE_QUEUE_SYNC=full` makes
 * delivery bookkeeping fsync too (power-cut safe, one fsync per task start and end).
 */
export function queuePathFor(env: NodeJS.ProcessEnv, statePath: string): string {
  return env.SHIPOTE_QUEUE || join(dirname(statePath), 'queue.db');
}

/**
 * The daemon's queue store, or null (logged) when it cannot be opened: the daemon still
 * serves workspaces, and every worker call answers `unavailable` with the reason.
 */
export function openDaemonQueue(
  env: NodeJS.ProcessEnv,
  statePath: string,
  log: (line: string) => void,
): SqliteQueueStore | null {
  const path = queuePathFor(env, statePath);
  try {
    const lifecycleSync = env.SHIPOTE_QUEUE_SYNC === 'full' ? 'full' : 'normal';
    return openSqliteQueueStore({ path, lifecycleSync, deferPushSync: true });
  } catch (cause) {
    log(`queue store ${path} not opened: ${cause instanceof Error ? cause.message : cause}`);
    return null;
  }
}
