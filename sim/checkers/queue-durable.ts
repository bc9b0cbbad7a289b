/**
 * Queue-durable checker: no acknowledged task is lost. A push acknowledged to its caller
 * is, at every step and across every crash, still queued, finished (done) or
 * dead-lettered — unless its worker was dropped since.
 */

import type { CheckContext, Checker } from './types.js';

export class QueueDurableChecker implements Checker {
  readonly name = 'queue-durable' as const;

  check(ctx: CheckContext): string | null {
    const queue = ctx.world.queue;
    const { acked, db } = queue;
    if (acked.size === 0) return null;
    const present = new Set<string>([...db.completed.keys()]);
    for (const t of db.tasks) present.add(t.id);
    for (const t of db.dead) present.add(t.id);
    for (const [id, worker] of acked) {
      if (!present.has(id) && !queue.droppedSince(id, worker))
        return `worker ${worker}: acknowledged task ${id} is gone`;
    }
    ctx.cover('acknowledged tasks kept');
    return null;
  }
}
