/**
 * Queue-rerun checker: no task runs again after its success was recorded, and every
 * delivery of a task carries a higher attempt than the one before it (a task that was
 * running when the daemon died comes back with attempt + 1).
 */

import type { CheckContext, Checker } from './types.js';

export class QueueRerunChecker implements Checker {
  readonly name = 'queue-rerun' as const;
  private readonly attempts = new Map<string, number>();

  check(ctx: CheckContext): string | null {
    const completed = ctx.world.queue.db.completed;
    for (const s of ctx.spawns) {
      const task = s.task;
      if (!s.ok || task === undefined) continue;
      const doneAt = completed.get(task.id);
      if (doneAt !== undefined && doneAt < s.seq) {
        return `task ${task.id} delivered again (attempt ${task.attempt}) after its success`;
      }
      const before = this.attempts.get(task.id) ?? 0;
      if (task.attempt <= before) {
        return `task ${task.id} delivered with attempt ${task.attempt} after attempt ${before}`;
      }
      if (before > 0) ctx.cover('worker redeliveries with a raised attempt');
      this.attempts.set(task.id, task.attempt);
    }
    return null;
  }
}
