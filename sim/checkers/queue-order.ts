/**
 * Queue-order checker: a worker delivers its tasks in push order. Every delivery the
 * queue recorded was of the head of that worker's queue, and tasks finish (done or
 * dead-lettered) in increasing push sequence — a retried dead letter goes to the tail
 * with a fresh sequence number.
 */

import type { CheckContext, Checker } from './types.js';

export class QueueOrderChecker implements Checker {
  readonly name = 'queue-order' as const;
  private startsSeen = 0;
  /** The last database whose finishing order was checked and held. */
  private passed: object | null = null;

  check(ctx: CheckContext): string | null {
    const db = ctx.world.queue.db;
    // A torn commit can roll the log back below what we saw: re-read from there.
    this.startsSeen = Math.min(this.startsSeen, db.starts.length);
    for (const s of db.starts.slice(this.startsSeen)) {
      if (!s.head) return `worker ${s.worker}: task ${s.taskId} delivered while not the head`;
      ctx.cover('worker deliveries of the head');
    }
    this.startsSeen = db.starts.length;
    // A committed database is never changed (the next commit copies it): one that passed
    // passes again.
    if (db === this.passed) return null;
    for (const [worker, seqs] of db.finished) {
      for (let i = 1; i < seqs.length; i++) {
        const [a, b] = [seqs[i - 1] as number, seqs[i] as number];
        if (b <= a) return `worker ${worker}: task seq ${b} finished after seq ${a}`;
      }
    }
    this.passed = db;
    return null;
  }
}
