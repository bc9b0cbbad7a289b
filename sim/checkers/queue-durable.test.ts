import { QueueDurableChecker } from './queue-durable.js';
import type { CheckContext } from './types.js';

/** A committed database as the checker reads it: queued and dead ids, completed ids. */
function db(queued: string[], completed: string[] = []) {
  return {
    tasks: queued.map((id) => ({ id })),
    dead: [],
    completed: new Map(completed.map((id) => [id, 1])),
  };
}

function world() {
  const queue = {
    acked: new Map<string, string>(),
    acks: 0,
    db: db([]),
    ack(id: string, worker: string) {
      this.acked.set(id, worker);
      this.acks += 1;
    },
    droppedSince: () => false,
  };
  const covered: string[] = [];
  const ctx = { world: { queue }, cover: (what: string) => covered.push(what) };
  return { queue, covered, ctx: ctx as unknown as CheckContext };
}

describe('queue-durable checker', () => {
  it('finds a task gone in a new commit after steps that changed nothing', () => {
    const { queue, covered, ctx } = world();
    const checker = new QueueDurableChecker();
    queue.db = db(['t1']);
    queue.ack('t1', 'w');
    expect(checker.check(ctx)).toBeNull();
    expect(checker.check(ctx)).toBeNull();
    expect(covered).toEqual(['acknowledged tasks kept', 'acknowledged tasks kept']);
    queue.db = db([]);
    expect(checker.check(ctx)).toBe('worker w: acknowledged task t1 is gone');
  });

  it('finds a task acknowledged but never committed, with the database unchanged', () => {
    const { queue, ctx } = world();
    const checker = new QueueDurableChecker();
    queue.db = db(['t1'], ['t0']);
    queue.ack('t0', 'w');
    expect(checker.check(ctx)).toBeNull();
    queue.ack('t2', 'w');
    expect(checker.check(ctx)).toBe('worker w: acknowledged task t2 is gone');
  });
});
