/**
 * The worker host: the shell that runs `workerStep`'s effects through the ports. Driven
 * here over an in-memory queue (testing/queue.ts), the fake kernel and the simulator's
 * clock: group commit of pushes, delivery order, retries, dead letters, timeouts, failed
 * writes, blocked workspaces, restarts of the daemon, drops and shutdown.
 */

import { MemoryQueue } from '../../testing/queue.js';
import { workerRig, workerSpec } from '../../testing/worker-rig.js';
import type { TaskResult } from '../ports.js';
import type { TaskLogs } from './api.js';
import { CAPTURE_WAIT_MS_MAX, UNAVAILABLE_WORKERS, workerKey } from './worker-host.js';

const spec = workerSpec;
const rig = workerRig;
const bytes = (s: string) => new TextEncoder().encode(s);

type Rig = ReturnType<typeof rig>;

/** Pushes `payloads` in one turn and commits them (the group commit's timer). */
async function pushAll(r: Rig, payloads: string[], worker = 'w') {
  const acks = payloads.map((p) => r.host.pushTask(worker, bytes(p)));
  r.clock.advance(0);
  return Promise.all(acks);
}

const ids = (r: Rig) => r.queue.rows.map((t) => t.id);
const lastOf = (r: Rig): TaskResult | null => r.queue.counts.get('w')?.last ?? null;

describe('pushes', () => {
  it('commits the pushes of one turn in one transaction and answers them after it', async () => {
    const r = rig();
    r.host.createWorker('ws', spec());
    r.block('held'); // nothing delivered: the queue stays as pushed
    const acks = ['a', 'b', 'c'].map((p) => r.host.pushTask('w', bytes(p)));
    expect(r.queue.writes.filter((w) => w.startsWith('push'))).toEqual([]);
    r.clock.advance(0);
    const answers = await Promise.all(acks);
    expect(r.queue.writes.filter((w) => w.startsWith('push'))).toHaveLength(1);
    expect(answers.map((a) => (a.ok ? a.value.seq : -1))).toEqual([1, 2, 3]);
    expect(answers.map((a) => (a.ok ? a.value.id : ''))).toEqual(ids(r));
  });

  it('refuses a push to an unknown worker and any push once shut down', async () => {
    const r = rig();
    expect(await r.host.pushTask('nope', bytes('x'))).toEqual({
      ok: false,
      error: { code: 'not_found', message: 'no worker "nope"' },
    });
    r.host.createWorker('ws', spec());
    r.host.shutdown();
    const refused = await r.host.pushTask('w', bytes('x'));
    expect(refused).toMatchObject({ ok: false, error: { code: 'unavailable' } });
    expect(r.queue.rows).toEqual([]);
  });

  it('answers every push of a failed commit with the error; nothing is queued', async () => {
    const r = rig();
    r.host.createWorker('ws', spec());
    r.queue.failNext.add('push');
    const answers = await pushAll(r, ['a', 'b']);
    expect(answers).toEqual([
      { ok: false, error: { code: 'unavailable', message: 'push failed (injected)' } },
      { ok: false, error: { code: 'unavailable', message: 'push failed (injected)' } },
    ]);
    expect(r.queue.rows).toEqual([]);
    expect(r.kernel.spawns).toEqual([]);
  });

  it('with a deferred sync, answers and delivers only once the sync reported', async () => {
    const r = rig({ deferSync: true });
    r.host.createWorker('ws', spec());
    let answered = 0;
    const acks = ['a', 'b'].map((p) =>
      r.host.pushTask('w', bytes(p)).then((a) => {
        answered += 1;
        return a;
      }),
    );
    r.clock.advance(0);
    await Promise.resolve();
    expect(r.queue.rows).toHaveLength(2);
    expect(answered).toBe(0);
    expect(r.kernel.spawns).toEqual([]);
    expect(r.queue.pendingSyncs).toBe(1);
    r.queue.settleSync();
    expect((await Promise.all(acks)).every((a) => a.ok)).toBe(true);
    expect(r.kernel.spawns).toHaveLength(1);
  });

  it('with a deferred sync that fails, answers each push with the error', async () => {
    const r = rig({ deferSync: true });
    r.host.createWorker('ws', spec());
    const acks = ['a'].map((p) => r.host.pushTask('w', bytes(p)));
    r.clock.advance(0);
    r.queue.settleSync(false);
    expect(await Promise.all(acks)).toEqual([
      { ok: false, error: { code: 'unavailable', message: 'disk I/O' } },
    ]);
    expect(r.kernel.spawns).toEqual([]);
  });

  it('one sync at a time: pushes committed during a sync wait for the next one', async () => {
    const r = rig({ deferSync: true });
    r.host.createWorker('ws', spec());
    r.block('held');
    const first = r.host.pushTask('w', bytes('a'));
    r.clock.advance(0);
    const second = r.host.pushTask('w', bytes('b'));
    r.clock.advance(0);
    expect(r.queue.pendingSyncs).toBe(1);
    r.queue.settleSync();
    expect((await first).ok).toBe(true);
    expect(r.queue.pendingSyncs).toBe(1); // the second push's own sync
    r.queue.settleSync();
    expect((await second).ok).toBe(true);
  });
});

describe('delivery', () => {
  it('runs the tasks in push order, one process at a time, each task on stdin', async () => {
    const r = rig();
    r.host.createWorker('ws', spec());
    const acks = await pushAll(r, ['first', 'second']);
    const [a, b] = acks.map((x) => (x.ok ? x.value.id : ''));
    expect(r.kernel.spawns).toHaveLength(1);
    const req = r.kernel.spawns[0]!.req;
    expect(req.stdin).toEqual(bytes('first'));
    expect(req.exec).toBe('/bin/task');
    expect(r.envOf(0)).toEqual([
      'A=1',
      `SHIPOTE_TASK_ID=${a}`,
      'SHIPOTE_TASK_ATTEMPT=1',
      'SHIPOTE_WORKER=w',
    ]);
    expect(r.queue.writes).toContain(`startAttempt w ${a}`);
    r.kernel.exit(r.pidOf(), 0);
    expect(r.queue.writes).toContain(`complete w ${a}`);
    expect(r.kernel.spawns).toHaveLength(2);
    expect(r.kernel.spawns[1]!.req.stdin).toEqual(bytes('second'));
    r.kernel.exit(r.pidOf(), 0);
    expect(r.queue.rows).toEqual([]);
    expect(r.evs('worker-task-done').map((f) => f.task)).toEqual([a, b]);
    expect(r.host.getWorker('w')).toMatchObject({ ok: true, value: { done: 2, depth: 0 } });
  });

  it('appends a step’s events after its effects, in order', async () => {
    const r = rig();
    r.host.createWorker('ws', spec());
    await pushAll(r, ['a', 'b']);
    r.kernel.exit(r.pidOf(), 0);
    expect(r.events.map((e) => e.ev)).toEqual([
      'worker-create',
      'worker-task-start',
      'worker-task-done',
      'worker-task-start',
    ]);
  });

  it('retries a failing task after the backoff, then dead-letters it and goes on', async () => {
    const r = rig();
    r.host.createWorker('ws', spec({ crashLoopMax: 2 }));
    const [a, b] = (await pushAll(r, ['bad', 'good'])).map((x) => (x.ok ? x.value.id : ''));
    r.kernel.exit(r.pidOf(), 3);
    expect(r.queue.writes).toContain(`fail w ${a}`);
    expect(r.evs('worker-task-failed')[0]).toMatchObject({ task: a, code: 3, backoff_ms: 200 });
    r.clock.advance(199);
    expect(r.kernel.spawns).toHaveLength(1);
    r.clock.advance(1);
    expect(r.kernel.spawns).toHaveLength(2);
    expect(r.envOf(1)).toContain('SHIPOTE_TASK_ATTEMPT=2');
    r.kernel.exit(r.pidOf(), 3);
    r.clock.advance(400); // the backoff doubled
    r.kernel.exit(r.pidOf(), 3); // the third failure passes crashLoopMax = 2
    expect(r.queue.writes).toContain(`bury w ${a}`);
    expect(r.queue.deadRows.map((d) => d.id)).toEqual([a]);
    expect(r.evs('worker-task-dead')[0]).toMatchObject({ task: a, failures: 3 });
    expect(r.kernel.spawns.at(-1)!.req.stdin).toEqual(bytes('good'));
    expect(r.envOf(3)).toContain(`SHIPOTE_TASK_ID=${b}`);
  });

  it('a task past its timeout gets SIGTERM, then SIGKILL after the grace; a timeout', async () => {
    const r = rig();
    r.host.createWorker('ws', spec({ timeoutMs: 1_000, killGraceMs: 500 }));
    await pushAll(r, ['slow']);
    const pid = r.pidOf();
    r.kernel.ignoreTerm.add(pid);
    r.clock.advance(999);
    expect(r.kernel.signals).toEqual([]);
    r.clock.advance(1);
    expect(r.kernel.signals).toEqual([{ pid, signal: 'SIGTERM' }]);
    r.clock.advance(499);
    expect(r.kernel.signals).toHaveLength(1);
    r.clock.advance(1);
    expect(r.kernel.signals.at(-1)).toEqual({ pid, signal: 'SIGKILL' });
    expect(lastOf(r)).toMatchObject({ reason: 'timeout', signal: 'SIGKILL' });
  });

  it('a task that ends in time cancels its timeout', async () => {
    const r = rig();
    r.host.createWorker('ws', spec({ timeoutMs: 1_000 }));
    await pushAll(r, ['quick']);
    r.kernel.exit(r.pidOf(), 0);
    r.clock.advance(5_000);
    expect(r.kernel.signals).toEqual([]);
  });

  it('a spawn that fails is a failed attempt, retried after the backoff', async () => {
    const r = rig();
    r.kernel.missing.add('/bin/task');
    r.host.createWorker('ws', spec());
    await pushAll(r, ['a']);
    expect(lastOf(r)).toMatchObject({ reason: 'spawn-failed', code: null });
    expect(lastOf(r)?.stderrTail).toContain('/bin/task');
    r.kernel.missing.delete('/bin/task');
    r.clock.advance(200);
    expect(r.kernel.spawns).toHaveLength(1);
  });

  it('a durable write that fails stops the step there; the worker tries again later', async () => {
    const r = rig();
    r.host.createWorker('ws', spec());
    r.queue.failNext.add('startAttempt');
    await pushAll(r, ['a']);
    expect(r.kernel.spawns).toEqual([]);
    expect(r.evs('worker-store-failed')).toEqual([
      { worker: 'w', message: 'startAttempt failed (injected)' },
    ]);
    r.clock.advance(200);
    expect(r.kernel.spawns).toHaveLength(1);
    expect(r.envOf(0)).toContain('SHIPOTE_TASK_ATTEMPT=1'); // the failed record spent nothing
  });

  it('holds a task its workspace cannot take now, spending no attempt', async () => {
    const r = rig();
    r.host.createWorker('ws', spec());
    r.block('workspace ws is stopped');
    await pushAll(r, ['a']);
    expect(r.kernel.spawns).toEqual([]);
    expect(r.queue.writes.some((w) => w.startsWith('startAttempt'))).toBe(false);
    expect(r.host.getWorker('w')).toMatchObject({ value: { held: 'workspace ws is stopped' } });
    r.unblock();
    r.clock.advance(200);
    expect(r.kernel.spawns).toHaveLength(1);
    expect(r.envOf(0)).toContain('SHIPOTE_TASK_ATTEMPT=1');
  });
});

describe('start, shutdown and workspace stops', () => {
  it('resumes the queues on start: a task left running comes back with attempt + 1', () => {
    const queue = new MemoryQueue();
    const first = rig({ queue });
    first.host.createWorker('ws', spec());
    first.host.pushTask('w', bytes('a'));
    first.clock.advance(0);
    expect(first.envOf(0)).toContain('SHIPOTE_TASK_ATTEMPT=1');
    first.host.shutdown(); // the daemon goes; the task stays recorded as running
    expect(first.kernel.signals.at(-1)?.signal).toBe('SIGKILL');
    expect(queue.writes.filter((w) => !w.startsWith('push') && !w.startsWith('create'))).toEqual([
      expect.stringMatching(/^startAttempt w /),
    ]);
    const next = rig({ queue });
    expect(next.host.start()).toEqual({ workers: 1, tasks: 1, error: null });
    expect(next.envOf(0)).toContain('SHIPOTE_TASK_ATTEMPT=2');
  });

  it('the running task of a stopping workspace ends with it and stays queued', async () => {
    const r = rig();
    r.host.createWorker('ws', spec());
    await pushAll(r, ['a']);
    const pid = r.pidOf();
    r.kernel.ignoreTerm.add(pid);
    r.host.workspaceStopping('other', 100);
    expect(r.kernel.signals).toEqual([]);
    r.host.workspaceStopping('ws', 300);
    expect(r.kernel.signals).toEqual([{ pid, signal: 'SIGTERM' }]);
    r.clock.advance(300);
    expect(r.kernel.signals.at(-1)).toEqual({ pid, signal: 'SIGKILL' });
    expect(r.queue.rows).toHaveLength(1);
    expect(r.queue.writes.some((w) => /^(fail|complete|bury) /.test(w))).toBe(false);
  });

  it('an exit after close is forgotten, not recorded', async () => {
    const r = rig();
    r.host.createWorker('ws', spec());
    await pushAll(r, ['a']);
    const pid = r.pidOf();
    r.host.close();
    expect(r.host.owns(pid)).toBe(true);
    r.kernel.exit(pid, 0);
    expect(r.host.owns(pid)).toBe(false);
    expect(r.queue.rows).toHaveLength(1);
  });

  it('tells which pids are its tasks', async () => {
    const r = rig();
    r.host.createWorker('ws', spec());
    await pushAll(r, ['a']);
    expect(r.host.livePids()).toEqual([r.pidOf()]);
    expect(r.host.onExit(99_999, 0, null)).toBe(false);
  });
});

describe('workers through the API', () => {
  it('refuses a second worker of the same name', () => {
    const r = rig();
    expect(r.host.createWorker('ws', spec()).ok).toBe(true);
    expect(r.host.createWorker('ws', spec())).toEqual({
      ok: false,
      error: { code: 'conflict', message: 'worker "w" exists' },
    });
    expect(r.host.listWorkers().map((v) => v.name)).toEqual(['w']);
  });

  it('sends a dead letter back to the queue with retry', async () => {
    const r = rig();
    r.host.createWorker('ws', spec({ crashLoopMax: 1 }));
    const [a] = (await pushAll(r, ['bad'])).map((x) => (x.ok ? x.value.id : ''));
    r.kernel.exit(r.pidOf(), 1);
    r.clock.advance(200);
    r.kernel.exit(r.pidOf(), 1);
    expect(r.host.listTasks('w', { dead: true })).toMatchObject({ ok: true, value: [{ id: a }] });
    expect(r.host.retryTask('w', 'nope')).toMatchObject({
      ok: false,
      error: { code: 'not_found' },
    });
    expect(r.host.retryTask('w', a as string)).toMatchObject({ ok: true, value: { id: a } });
    expect(r.evs('worker-task-retry')).toEqual([{ worker: 'w', task: a }]);
    expect(r.kernel.spawns).toHaveLength(3);
    expect(r.host.listTasks('w', { dead: false })).toMatchObject({ value: [{ id: a }] });
    expect(r.host.listTasks('x', { dead: false })).toMatchObject({ ok: false });
  });

  it('refuses to drop a worker with tasks unless forced; forced, ends its task first', async () => {
    const r = rig();
    r.host.createWorker('ws', spec());
    await pushAll(r, ['a', 'b']);
    const refused = await r.host.dropWorker('w', { force: false });
    expect(refused).toMatchObject({ ok: false, error: { code: 'conflict', field: 'force' } });
    expect(refused.ok ? '' : refused.error.message).toContain('still has 2 task(s)');
    const pid = r.pidOf();
    const drop = await r.host.dropWorker('w', { force: true });
    expect(r.kernel.signals).toEqual([{ pid, signal: 'SIGKILL' }]); // ended before the drop
    expect(drop).toEqual({ ok: true, value: true });
    expect(r.queue.defs.has('w')).toBe(false);
    expect(r.kernel.released).toContain(workerKey('w'));
    expect(r.evs('worker-dropped')).toEqual([{ worker: 'w', tasks: 2 }]);
    expect(r.host.getWorker('w')).toMatchObject({ ok: false, error: { code: 'not_found' } });
  });

  it('drops an idle worker at once', async () => {
    const r = rig();
    r.host.createWorker('ws', spec());
    expect(await r.host.dropWorker('w', { force: false })).toEqual({ ok: true, value: true });
    expect(await r.host.dropWorker('w', { force: false })).toMatchObject({
      ok: false,
      error: { code: 'not_found' },
    });
  });
});

describe('captured output', () => {
  /** Task logs whose stderr grows by what a test writes, with capture ends it releases. */
  function logs() {
    let stderr = '';
    const waiting: (() => void)[] = [];
    const taskLogs: TaskLogs = {
      stderrBytes: () => stderr.length,
      stderrTail: (_key, n) => stderr.slice(-n),
      whenCaptured: (_key, fire) => waiting.push(fire),
    };
    return {
      taskLogs,
      write: (s: string) => {
        stderr += s;
      },
      release: () => {
        for (const fire of waiting.splice(0)) fire();
      },
    };
  }

  it('records an exit once its output is captured, with its own stderr as the tail', async () => {
    const l = logs();
    const r = rig({ taskLogs: l.taskLogs });
    r.host.createWorker('ws', spec());
    l.write('before the task\n');
    await pushAll(r, ['a']);
    l.write('boom\n');
    r.kernel.exit(r.pidOf(), 2);
    expect(lastOf(r)).toBeNull(); // still capturing
    l.release();
    expect(lastOf(r)).toMatchObject({ code: 2, reason: 'exit', stderrTail: 'boom\n' });
  });

  it('records the exit anyway after CAPTURE_WAIT_MS_MAX when the output never ends', async () => {
    const l = logs();
    const r = rig({ taskLogs: l.taskLogs });
    r.host.createWorker('ws', spec());
    await pushAll(r, ['a']);
    r.kernel.exit(r.pidOf(), 0);
    r.clock.advance(CAPTURE_WAIT_MS_MAX - 1);
    expect(r.queue.rows).toHaveLength(1);
    r.clock.advance(1);
    expect(r.queue.rows).toHaveLength(0);
    l.release(); // late: nothing twice
    expect(r.evs('worker-task-done')).toHaveLength(1);
  });
});

describe('refusals and failed reads', () => {
  it('answers the pushes still waiting for their commit when the host closes', async () => {
    const r = rig();
    r.host.createWorker('ws', spec());
    const ack = r.host.pushTask('w', bytes('a'));
    r.host.close();
    r.clock.advance(0);
    expect(await ack).toEqual({
      ok: false,
      error: { code: 'unavailable', message: 'the daemon is shutting down' },
    });
    expect(r.queue.rows).toEqual([]);
  });

  it('answers pushes whose sync reports after close as unavailable', async () => {
    const r = rig({ deferSync: true });
    r.host.createWorker('ws', spec());
    const ack = r.host.pushTask('w', bytes('a'));
    r.clock.advance(0);
    r.host.close();
    r.queue.settleSync();
    expect(await ack).toMatchObject({ ok: false, error: { code: 'unavailable' } });
    expect(r.kernel.spawns).toEqual([]);
  });

  it('refuses a push whose worker was dropped before the commit', async () => {
    const r = rig();
    r.host.createWorker('ws', spec());
    const ack = r.host.pushTask('w', bytes('a'));
    expect(await r.host.dropWorker('w', { force: false })).toEqual({ ok: true, value: true });
    r.clock.advance(0);
    expect(await ack).toEqual({
      ok: false,
      error: { code: 'not_found', message: 'no worker "w"' },
    });
  });

  it('reports a store that cannot list its workers on start', () => {
    const queue = new MemoryQueue();
    queue.failNext.add('workers');
    const r = rig({ queue });
    expect(r.host.start()).toEqual({ workers: 0, tasks: 0, error: 'workers failed (injected)' });
  });

  it('maps store refusals to API errors: Exists is a conflict, reads are unavailable', () => {
    const r = rig();
    r.queue.defs.set('w', { ...spec(), wsId: 'ws', env: [], createdAtWallMs: 0 });
    expect(r.host.createWorker('ws', spec())).toMatchObject({
      ok: false,
      error: { code: 'conflict', message: 'worker w exists' },
    });
    const s = rig();
    s.host.createWorker('ws', spec());
    for (const method of ['depth', 'counters', 'dead']) {
      s.queue.failNext.add(method);
      expect(s.host.getWorker('w')).toEqual({
        ok: false,
        error: { code: 'unavailable', message: `${method} failed (injected)` },
      });
    }
    s.queue.failNext.add('tasks');
    expect(s.host.listTasks('w', { dead: false })).toMatchObject({ ok: false });
    expect(s.host.retryTask('nope', 'x')).toMatchObject({
      ok: false,
      error: { code: 'not_found' },
    });
  });

  it('a head that cannot be read is a failed store: the worker tries again later', async () => {
    const r = rig();
    r.host.createWorker('ws', spec());
    r.queue.failNext.add('head');
    await pushAll(r, ['a']);
    expect(r.kernel.spawns).toEqual([]);
    expect(r.evs('worker-store-failed')).toHaveLength(1);
    r.clock.advance(200);
    expect(r.kernel.spawns).toHaveLength(1);
  });

  it('without a queue store every worker call refuses, naming why', async () => {
    const why = {
      code: 'unavailable',
      message: 'workers need the queue store, and this supervisor has none',
    };
    const spec0 = spec();
    expect(UNAVAILABLE_WORKERS.createWorker('ws', spec0)).toEqual({ ok: false, error: why });
    expect(await UNAVAILABLE_WORKERS.pushTask('w', bytes('x'))).toEqual({ ok: false, error: why });
    expect(UNAVAILABLE_WORKERS.listWorkers()).toEqual([]);
    expect(UNAVAILABLE_WORKERS.getWorker('w')).toEqual({ ok: false, error: why });
    expect(UNAVAILABLE_WORKERS.listTasks('w', { dead: true })).toEqual({ ok: false, error: why });
    expect(UNAVAILABLE_WORKERS.retryTask('w', 't')).toEqual({ ok: false, error: why });
    expect(await UNAVAILABLE_WORKERS.dropWorker('w', { force: true })).toEqual({
      ok: false,
      error: why,
    });
  });
});

describe('the worker view', () => {
  it('shows the running task, the counts, the dead letters and the template', async () => {
    const r = rig();
    r.host.createWorker('ws', spec({ crashLoopMax: 1, timeoutMs: 9_000 }));
    const [a, b] = (await pushAll(r, ['bad', 'slow'])).map((x) => (x.ok ? x.value.id : ''));
    const idle = rig();
    idle.host.createWorker('ws', spec());
    expect(idle.host.getWorker('w')).toMatchObject({
      ok: true,
      value: { state: 'idle', running: null },
    });
    r.kernel.exit(r.pidOf(), 1);
    r.clock.advance(200);
    r.kernel.exit(r.pidOf(), 1); // the second failure passes crashLoopMax = 1: dead
    const view = r.host.getWorker('w');
    if (!view.ok) throw new Error(view.error.message);
    expect(view.value).toMatchObject({
      name: 'w',
      workspaceId: 'ws',
      state: 'running',
      depth: 1,
      running: { taskId: b, pid: r.pidOf(), attempt: 1 },
      pushed: 2,
      done: 0,
      failed: 2, // both failures; the second also dead-lettered (as the SQLite store counts)
      dead: 1,
      last: { taskId: a, code: 1, reason: 'exit' },
      held: null,
      exec: '/bin/task',
      argv: ['task'],
      envp: ['A=1'],
      cwd: '',
      backoffMsInitial: 200,
      backoffMsMax: 1_000,
      timeoutMs: 9_000,
      killGraceMs: 500,
      crashLoopMax: 1,
      crashLoopWindowMs: 60_000,
    });
    expect(view.value.deadLetters).toEqual([
      { id: a, attempt: 2, last: expect.objectContaining({ code: 1, reason: 'exit' }) },
    ]);
    expect(Object.keys(view.value.deadLetters[0] ?? {}).sort()).toEqual(['attempt', 'id', 'last']);
  });
});
