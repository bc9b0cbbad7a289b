/**
 * Queue-single checker: at most one running task per worker. The processes of a worker
 * share its key (`worker-<name>`); at no step are two of them alive.
 */

import type { CheckContext, Checker } from './types.js';

export class QueueSingleChecker implements Checker {
  readonly name = 'queue-single' as const;

  check(ctx: CheckContext): string | null {
    const alive = new Map<string, number[]>();
    for (const p of ctx.world.kernel.live) {
      if (!p.alive || p.rootPid !== p.pid || !p.key.startsWith('worker-')) continue;
      alive.set(p.key, [...(alive.get(p.key) ?? []), p.pid]);
    }
    for (const [key, pids] of alive) {
      if (pids.length > 1) return `${key}: ${pids.length} tasks running at once (${pids})`;
      ctx.cover('worker tasks running alone');
    }
    return null;
  }
}
