/**
 * Queue-single checker: at most one running task per worker. The processes of a worker
 * share its key (`worker-<name>`); at no step are two of them alive and started (the next
 * task's process, prepared while the current one runs, is held before its exec).
 */

import type { CheckContext, Checker } from './types.js';

export class QueueSingleChecker implements Checker {
  readonly name = 'queue-single' as const;

  check(ctx: CheckContext): string | null {
    // Most steps have no worker process alive: no map for them.
    let alive: Map<string, number[]> | null = null;
    for (const p of ctx.world.kernel.live) {
      if (!p.alive || p.rootPid !== p.pid || !p.key.startsWith('worker-')) continue;
      // A held process (prepared, not started) runs nothing: it is not a running task.
      if (p.held) {
        ctx.cover('worker next tasks held while one runs');
        continue;
      }
      alive ??= new Map();
      const pids = alive.get(p.key);
      if (pids === undefined) alive.set(p.key, [p.pid]);
      else pids.push(p.pid);
    }
    if (alive === null) return null;
    for (const [key, pids] of alive) {
      if (pids.length > 1) return `${key}: ${pids.length} tasks running at once (${pids})`;
      ctx.cover('worker tasks running alone');
    }
    return null;
  }
}
