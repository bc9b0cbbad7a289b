/**
 * Queue-durable checker: no acknowledged task is lost. A push acknowledged to its caller
 * is, at every step and across every crash, still queued, finished (done) or
 * dead-lettered — unless its worker was dropped since.
 */

import type { CheckContext, Checker } from './types.js';

export class QueueDurableChecker implements Checker {
  readonly name = 'queue-durable' as const;
  /** The ids of the queued and dead tasks of one committed database. */
  private held: { db: object; ids: Set<string> } | null = null;
  /** The database and acknowledgements last found to keep every acknowledged task. */
  private kept: { db: object; acks: number } | null = null;

  check(ctx: CheckContext): string | null {
    const queue = ctx.world.queue;
    const { acked, db } = queue;
    if (acked.size === 0) return null;
    // A committed database is never changed and `acked` only changes with `acks`: the same
    // pair as at the last check keeps what it kept then.
    if (this.kept?.db === db && this.kept.acks === queue.acks) {
      ctx.cover('acknowledged tasks kept');
      return null;
    }
    // A committed database is never changed (the next commit copies it), so the ids it
    // holds are gathered once per commit, and only when a task is not done.
    let present: Set<string> | null = this.held?.db === db ? this.held.ids : null;
    for (const [id, worker] of acked) {
      if (db.completed.has(id)) continue;
      if (present === null) {
        present = new Set([...db.tasks.map((t) => t.id), ...db.dead.map((t) => t.id)]);
        this.held = { db, ids: present };
      }
      if (!present.has(id) && !queue.droppedSince(id, worker))
        return `worker ${worker}: acknowledged task ${id} is gone`;
    }
    this.kept = { db, acks: queue.acks };
    ctx.cover('acknowledged tasks kept');
    return null;
  }
}
