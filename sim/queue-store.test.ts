import { createSupervisor } from '../core/engine/supervisor.js';
import type { WorkerSpec } from '../core/manifest/worker.js';
import type { PortError } from '../core/ports.js';
import { FakeStore, fakes, ok, wsSpec } from '../testing/fakes.js';
import { type FaultKind, Faults } from './faults.js';
import { Prng, ratio } from './prng.js';
import { SimQueueStore } from './queue-store.js';
import { Trace } from './trace.js';

const spec: WorkerSpec = {
  name: 'w',
  exec: '/bin/task',
  argv: [],
  envp: [],
  cwd: '',
  backoffMsInitial: 200,
  backoffMsMax: 30_000,
  timeoutMs: 0,
  crashLoopMax: 3,
  crashLoopWindowMs: 300_000,
};

/** A supervisor over the fakes and the simulated queue, faults on the given sites always. */
function world(always: FaultKind[] = []) {
  const sites = new Map(always.map((k) => [k, ratio(1, 1)] as const));
  const faults = new Faults(new Prng(7), sites);
  const dead = new Set<number>();
  const queue = new SimQueueStore(
    faults,
    new Trace(false, () => 0),
    (gen) => !dead.has(gen),
    (gen) => dead.add(gen),
    () => 0,
  );
  const snapshot = new FakeStore();
  const start = (gen: number) => {
    const f = fakes(snapshot);
    const sup = createSupervisor({ ...f.ports, queue: queue.port(gen) });
    sup.start();
    return { f, sup };
  };
  return { queue, faults, dead, start };
}

const text = (s: string) => new TextEncoder().encode(s);

describe('workers over the simulated queue store', () => {
  it('commits the pushes of one turn in one transaction, and answers only after it', async () => {
    const { queue, start } = world();
    const { f, sup } = start(0);
    ok(sup.createWorkspace(wsSpec()));
    ok(sup.createWorker!('w', spec));
    const before = queue.commits;
    let answered = 0;
    const pushes = Array.from({ length: 16 }, (_, i) =>
      sup.pushTask!('w', text(`t${i}`)).then((r) => {
        answered += 1;
        return r;
      }),
    );
    await Promise.resolve();
    expect(answered).toBe(0);
    expect(queue.db.tasks).toHaveLength(0);
    f.clock.advance(0);
    const acks = (await Promise.all(pushes)).map(ok);
    expect(acks.map((a) => a.seq)).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
    // One commit for the 16 pushes, one for the first delivery's start.
    expect(queue.commits - before).toBe(2);
    expect(f.kernel.spawns.map((s) => new TextDecoder().decode(s.req.stdin))).toEqual(['t0']);
  });

  it('with a store that syncs apart, answers a push and delivers it only once synced', async () => {
    const { queue } = world(); // its own supervisor: the world's port has no sync
    const syncs: ((r: { ok: true; value: true } | { ok: false; error: PortError }) => void)[] = [];
    const f = fakes(new FakeStore());
    const port = { ...queue.port(0), sync: (done: (typeof syncs)[number]) => syncs.push(done) };
    const sup = createSupervisor({ ...f.ports, queue: port });
    sup.start();
    ok(sup.createWorkspace(wsSpec()));
    ok(sup.createWorker!('w', spec));
    const answers: string[] = [];
    const track = (label: string, p: ReturnType<NonNullable<typeof sup.pushTask>>) =>
      p.then((r) => {
        answers.push(`${label}:${r.ok ? 'ok' : r.error.code}`);
        return r;
      });
    const first = [
      track('a', sup.pushTask!('w', text('a'))),
      track('b', sup.pushTask!('w', text('b'))),
    ];
    f.clock.advance(0);
    await Promise.resolve();
    expect(queue.db.tasks).toHaveLength(2); // committed,
    expect(syncs).toHaveLength(1); // one sync asked for,
    expect(answers).toEqual([]); // nobody answered
    expect(f.kernel.spawns).toHaveLength(0); // and nothing delivered yet
    const third = track('c', sup.pushTask!('w', text('c')));
    f.clock.advance(0);
    await Promise.resolve();
    expect(queue.db.tasks).toHaveLength(3);
    expect(syncs).toHaveLength(1); // one sync at a time: c waits for the next one
    syncs[0]!({ ok: true, value: true });
    await Promise.all(first);
    expect(answers).toEqual(['a:ok', 'b:ok']);
    expect(f.kernel.spawns.map((s) => new TextDecoder().decode(s.req.stdin))).toEqual(['a']);
    expect(syncs).toHaveLength(2);
    const error: PortError = {
      _tag: 'PortError',
      port: 'QueueStore',
      method: 'sync',
      reason: 'Unknown',
      message: 'fsync: EIO',
    };
    syncs[1]!({ ok: false, error });
    await third;
    expect(answers).toEqual(['a:ok', 'b:ok', 'c:unavailable']);
  });

  it('refuses every push of a failed commit and stores none of them', async () => {
    const { queue, start, faults } = world(['queue-fail']);
    faults.disable();
    const { f, sup } = start(0);
    ok(sup.createWorkspace(wsSpec()));
    ok(sup.createWorker!('w', spec));
    const sites = new Faults(new Prng(1), new Map([['queue-fail', ratio(1, 1)]]));
    Object.assign(queue, { faults: sites });
    const pushes = [sup.pushTask!('w', text('a')), sup.pushTask!('w', text('b'))];
    f.clock.advance(0);
    const results = await Promise.all(pushes);
    for (const r of results) {
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error.code).toBe('unavailable');
    }
    expect(queue.db.tasks).toEqual([]);
  });

  it('runs a task again, attempt 2, when the daemon died between exit 0 and removal', async () => {
    const { queue, start, dead } = world();
    const first = start(0);
    ok(first.sup.createWorkspace(wsSpec()));
    ok(first.sup.createWorker!('w', spec));
    const push = first.sup.pushTask!('w', text('x'));
    first.f.clock.advance(0);
    const { id } = ok(await push);
    const [pid] = first.f.kernel.pidsOf('worker-w');
    const sites = new Faults(new Prng(1), new Map([['queue-crash-done', ratio(1, 1)]]));
    Object.assign(queue, { faults: sites });
    first.f.kernel.exit(pid as number, 0);
    expect(dead.has(0)).toBe(true);
    expect(queue.db.tasks.map((t) => [t.id, t.attempt])).toEqual([[id, 1]]);
    Object.assign(queue, { faults: Faults.none(new Prng(1)) });
    const second = start(1);
    const redelivered = second.f.kernel.spawns.map((s) => s.req.envp.slice(-3, -1));
    expect(redelivered).toEqual([[`SHIPOTE_TASK_ID=${id}`, 'SHIPOTE_TASK_ATTEMPT=2']]);
    const [pid2] = second.f.kernel.pidsOf('worker-w');
    second.f.kernel.exit(pid2 as number, 0);
    expect(queue.db.tasks).toEqual([]);
    expect(queue.db.completed.has(id)).toBe(true);
  });
});
