import fc from 'fast-check';
import type { TaskRow, WorkerDef } from '../ports.js';
import {
  decideDrop,
  newWorker,
  TASK_KILL_GRACE_MS,
  type WorkerEffect,
  type WorkerEvent,
  type WorkerRec,
  workerStep,
} from './worker.js';

const def = (over: Partial<WorkerDef> = {}): WorkerDef => ({
  name: 'w',
  wsId: 'ws',
  exec: '/bin/cat',
  argv: ['cat'],
  env: ['A=1', 'SHIPOTE_TASK_ID=spoofed'],
  cwd: '',
  backoffMsInitial: 200,
  backoffMsMax: 30_000,
  timeoutMs: 0,
  crashLoopMax: 3,
  crashLoopWindowMs: 300_000,
  createdAtWallMs: 0,
  ...over,
});

/**
 * The model: a queue as a plain array with the store's meaning, and an interpreter that
 * runs effects in order like the shell (stopping at a failed durable write).
 */
interface QTask {
  id: string;
  attempt: number;
}

class Model {
  queue: QTask[] = [];
  dead: string[] = [];
  done: string[] = [];
  deliveries: { id: string; attempt: number }[] = [];
  alive: number[] = [];
  timers = new Map<string, number>();
  delays: number[] = [];
  pushedIds: string[] = [];
  nextPid = 100;
  nextId = 0;
  failNextWrite = false;
  signals: string[] = [];
  recorded: string[] = [];
  nowMs = 0;
  rec: WorkerRec;

  constructor(readonly d: WorkerDef) {
    this.rec = newWorker(d, 0);
  }

  step(event: WorkerEvent): void {
    const r = workerStep(this.rec, event, this.nowMs, this.nowMs);
    this.rec = r.rec;
    for (const e of r.effects) if (!this.run(e)) break;
  }

  private write(apply: () => void): boolean {
    if (this.failNextWrite) {
      this.failNextWrite = false;
      this.step({ type: 'store-failed', message: 'injected' });
      return false;
    }
    apply();
    return true;
  }

  private find(id: string): QTask {
    const t = this.queue.find((q) => q.id === id);
    if (!t) throw new Error(`model: no task ${id}`);
    return t;
  }

  private run(e: WorkerEffect): boolean {
    switch (e.type) {
      case 'load-head': {
        const t = this.queue[0];
        const task: TaskRow | null = t
          ? {
              ...t,
              worker: 'w',
              seq: 0,
              payload: new Uint8Array(),
              state: 'queued',
              pushedAtWallMs: 0,
            }
          : null;
        this.step({ type: 'head', task, depth: this.queue.length });
        return true;
      }
      case 'record-start':
        return this.write(() => {
          const t = this.find(e.taskId);
          t.attempt += 1;
          expect(t.attempt).toBe(e.attempt);
        });
      case 'spawn': {
        expect(this.queue[0]?.id).toBe(e.taskId); // delivery follows push order
        expect(this.alive).toEqual([]); // one process at a time
        this.deliveries.push({ id: e.taskId, attempt: e.attempt });
        const pid = this.nextPid++;
        this.alive.push(pid);
        this.step({ type: 'spawned', pid });
        return true;
      }
      case 'record-done':
        return this.write(() => {
          this.queue = this.queue.filter((q) => q.id !== e.taskId);
          this.done.push(e.taskId);
        });
      case 'record-failed':
        return this.write(() => this.recorded.push(`failed ${this.find(e.taskId).id}`));
      case 'record-dead':
        return this.write(() => {
          this.queue = this.queue.filter((q) => q.id !== e.taskId);
          this.dead.push(e.taskId);
        });
      case 'arm-timer':
        if (e.kind === 'backoff') this.delays.push(e.atMs - this.nowMs);
        this.timers.set(e.kind, e.atMs);
        return true;
      case 'cancel-timer':
        this.timers.delete(e.kind);
        return true;
      case 'signal':
        this.signals.push(e.signal);
        return true;
      case 'append-event':
      case 'drop':
        return true;
    }
  }

  push(n: number): void {
    for (let i = 0; i < n; i++) {
      const id = `t${this.nextId++}`;
      this.queue.push({ id, attempt: 0 });
      this.pushedIds.push(id);
    }
    this.step({ type: 'pushed', count: n });
  }

  exit(code: number): void {
    const pid = this.alive.pop();
    if (pid === undefined) return;
    this.step({ type: 'exited', code, signal: null, stderrTail: `code ${code}` });
  }

  fire(): void {
    const [kind, atMs] = [...this.timers.entries()].sort((a, b) => a[1] - b[1])[0] ?? [];
    if (kind === undefined || atMs === undefined) return;
    this.timers.delete(kind);
    this.nowMs = Math.max(this.nowMs, atMs);
    this.step({ type: 'timer', kind: kind as 'backoff' | 'timeout' | 'kill' });
  }

  /** The daemon dies (kill -9): the process dies with it, memory is lost, the queue stays. */
  crash(): void {
    this.alive = [];
    this.timers.clear();
    this.nowMs += 1;
    this.rec = newWorker(this.d, 0);
    this.step({ type: 'pushed', count: this.queue.length });
  }
}

type Op =
  | { op: 'push'; n: number }
  | { op: 'exit'; code: number }
  | { op: 'fire' }
  | { op: 'fail-write' }
  | { op: 'suspend'; graceMs: number }
  | { op: 'crash' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('push' as const), n: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ op: fc.constant('exit' as const), code: fc.constantFrom(0, 0, 1, 2) }),
  fc.record({ op: fc.constant('fire' as const) }),
  fc.record({ op: fc.constant('fail-write' as const) }),
  fc.record({ op: fc.constant('crash' as const) }),
  fc.record({ op: fc.constant('suspend' as const), graceMs: fc.constantFrom(0, 50) }),
);

function play(ops: Op[]): Model {
  const m = new Model(def());
  for (const o of ops) {
    if (o.op === 'push') m.push(o.n);
    else if (o.op === 'exit') m.exit(o.code);
    else if (o.op === 'fire') m.fire();
    else if (o.op === 'fail-write') m.failNextWrite = true;
    else if (o.op === 'suspend') m.step({ type: 'suspend', graceMs: o.graceMs, why: 'ws down' });
    else m.crash();
    m.nowMs += 7;
  }
  return m;
}

describe('worker decisions (properties)', () => {
  it('never loses a task: every pushed id is queued, done or dead, exactly once', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 120 }), (ops) => {
        const m = play(ops);
        const all = [...m.done, ...m.dead, ...m.queue.map((q) => q.id)].sort();
        expect(all).toEqual([...m.pushedIds].sort());
      }),
    );
  });

  it('finishes tasks in push order and never delivers one again after its recorded success', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 120 }), (ops) => {
        const m = play(ops);
        const finished = m.pushedIds.filter((id) => m.done.includes(id) || m.dead.includes(id));
        const order = [...m.done, ...m.dead].sort(
          (a, b) => m.pushedIds.indexOf(a) - m.pushedIds.indexOf(b),
        );
        expect(order).toEqual(finished);
        for (const id of m.done) {
          const doneAt = m.deliveries.map((x) => x.id).lastIndexOf(id);
          const later = m.deliveries.slice(doneAt + 1).filter((x) => x.id === id);
          expect(later).toEqual([]);
        }
      }),
    );
  });

  it('raises the attempt on every delivery of the same task, crashes included', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 120 }), (ops) => {
        const m = play(ops);
        const last = new Map<string, number>();
        for (const d of m.deliveries) {
          expect(d.attempt).toBeGreaterThan(last.get(d.id) ?? 0);
          last.set(d.id, d.attempt);
        }
      }),
    );
  });

  it('keeps the worker going after a dead letter, and the backoff within 200 ms..30 s', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 120 }), (ops) => {
        const m = play([...ops, { op: 'push', n: 1 }]);
        for (const ms of m.delays) expect(ms >= 200 && ms <= 30_000).toBe(true);
        // Liveness: with every later run succeeding, the queue drains.
        for (let i = 0; i < 400 && m.queue.length > 0; i++) {
          if (m.alive.length > 0) m.exit(0);
          else m.fire();
        }
        expect(m.queue).toEqual([]);
      }),
    );
  });
});

describe('worker decisions (cases)', () => {
  it('retries a failing head after 200, 400, 800 ms and dead-letters it at the 4th failure', () => {
    const m = new Model(def());
    m.push(2);
    for (let i = 0; i < 3; i++) {
      m.exit(1);
      expect(m.rec.state).toBe('backoff');
      m.fire();
    }
    m.exit(1);
    expect(m.delays).toEqual([200, 400, 800]);
    expect(m.dead).toEqual(['t0']);
    expect(m.deliveries.map((d) => `${d.id}#${d.attempt}`)).toEqual([
      't0#1',
      't0#2',
      't0#3',
      't0#4',
      't1#1',
    ]);
    expect(m.rec.state).toBe('running');
  });

  it('caps the backoff at backoffMsMax', () => {
    const m = new Model(def({ backoffMsMax: 500, crashLoopMax: 10 }));
    m.push(1);
    for (let i = 0; i < 4; i++) {
      m.exit(1);
      m.fire();
    }
    expect(m.delays).toEqual([200, 400, 500, 500]);
  });

  it('puts the task on stdin and its id and attempt in the env, overriding the template', () => {
    const rec0 = workerStep(newWorker(def(), 0), { type: 'pushed', count: 1 }, 0, 0).rec;
    const task: TaskRow = {
      id: 'T1',
      worker: 'w',
      seq: 1,
      payload: new Uint8Array([104, 105]),
      attempt: 2,
      state: 'running',
      pushedAtWallMs: 0,
    };
    const r = workerStep(rec0, { type: 'head', task, depth: 1 }, 0, 0);
    const spawn = r.effects.find((e) => e.type === 'spawn');
    expect(r.effects.map((e) => e.type)).toEqual(['record-start', 'spawn']);
    expect(spawn?.type === 'spawn' && spawn.req.stdin).toEqual(new Uint8Array([104, 105]));
    expect(spawn?.type === 'spawn' && spawn.req.envp).toEqual([
      'A=1',
      'SHIPOTE_TASK_ID=T1',
      'SHIPOTE_TASK_ATTEMPT=3',
      'SHIPOTE_WORKER=w',
    ]);
  });

  it('ends a task past its timeout with SIGTERM, SIGKILL after the grace, a failure', () => {
    const m = new Model(def({ timeoutMs: 1000 }));
    m.push(1);
    expect(m.timers.get('timeout')).toBe(1000);
    m.fire();
    expect(m.rec.timedOut).toBe(true);
    expect(m.signals).toEqual(['SIGTERM']);
    expect(m.timers.get('kill')).toBe(1000 + TASK_KILL_GRACE_MS);
    m.fire();
    expect(m.signals).toEqual(['SIGTERM', 'SIGKILL']);
    m.step({ type: 'exited', code: null, signal: 'SIGKILL', stderrTail: '' });
    m.alive = [];
    expect(m.rec.state).toBe('backoff');
    expect(m.timers.has('kill')).toBe(false);
    expect(m.recorded).toEqual(['failed t0']);
    expect(m.queue).toEqual([{ id: 't0', attempt: 1 }]);
  });

  it.each([
    [0, ['SIGKILL'], undefined],
    [250, ['SIGTERM'], 1250],
  ])('with killGraceMs %i a timed-out task gets %j', (killGraceMs, signals, killAtMs) => {
    const m = new Model(def({ timeoutMs: 1000, killGraceMs }));
    m.push(1);
    m.fire();
    expect(m.signals).toEqual(signals);
    expect(m.timers.get('kill')).toBe(killAtMs);
  });

  it('a task that ends within the grace after its timeout is not killed', () => {
    const m = new Model(def({ timeoutMs: 1000 }));
    m.push(1);
    m.fire();
    m.exit(143);
    expect(m.signals).toEqual(['SIGTERM']);
    expect(m.timers.has('kill')).toBe(false);
    expect(m.recorded).toEqual(['failed t0']);
  });

  it('ends the running task with its workspace: kept at the head, no failure counted', () => {
    const m = new Model(def({ timeoutMs: 60_000 }));
    m.push(2);
    m.nowMs = 10;
    m.step({ type: 'suspend', graceMs: 3000, why: 'workspace ws is stopping' });
    expect(m.rec.state).toBe('stopping');
    expect(m.signals).toEqual(['SIGTERM']);
    expect(m.timers.get('kill')).toBe(3010);
    expect(m.timers.has('timeout')).toBe(false);
    m.fire(); // the grace is over
    expect(m.signals).toEqual(['SIGTERM', 'SIGKILL']);
    m.exit(137);
    expect(m.rec.state).toBe('backoff');
    expect(m.rec.held).toBe('workspace ws is stopping');
    expect(m.rec.deathsMs).toEqual([]);
    expect(m.recorded).toEqual([]);
    expect(m.queue.map((q) => q.id)).toEqual(['t0', 't1']);
    m.fire(); // the backoff: delivered again, a new attempt
    expect(m.deliveries.map((d) => `${d.id}#${d.attempt}`)).toEqual(['t0#1', 't0#2']);
  });

  it('a workspace stopping with no grace kills the task at once', () => {
    const m = new Model(def());
    m.push(1);
    m.step({ type: 'suspend', graceMs: 0, why: 'ws down' });
    expect(m.signals).toEqual(['SIGKILL']);
    expect(m.timers.has('kill')).toBe(false);
  });

  it('a failed removal after exit 0 leaves the task queued, and it runs again', () => {
    const m = new Model(def());
    m.push(1);
    m.failNextWrite = true;
    m.exit(0);
    expect(m.rec.state).toBe('backoff');
    expect(m.done).toEqual([]);
    m.fire();
    expect(m.deliveries.map((d) => d.attempt)).toEqual([1, 2]);
  });

  it.each([
    ['idle, empty', 0, false, 'now'],
    ['tasks left', 2, false, 'refuse'],
    ['tasks left, forced', 2, true, 'now'],
  ] as const)('drop decision: %s → %s', (_t, depth, force, want) => {
    expect(decideDrop({ ...newWorker(def(), depth) }, force)).toBe(want);
  });

  it('drains a running worker with --force: kill first, drop at its exit', () => {
    const m = new Model(def());
    m.push(1);
    expect(decideDrop(m.rec, true)).toBe('drain');
    const r = workerStep(m.rec, { type: 'drain' }, 0, 0);
    expect(r.effects).toEqual([{ type: 'signal', pid: 100, signal: 'SIGKILL' }]);
    const r2 = workerStep(
      r.rec,
      { type: 'exited', code: null, signal: 'SIGKILL', stderrTail: '' },
      0,
      0,
    );
    expect(r2.effects.map((e) => e.type)).toEqual(['cancel-timer', 'drop']);
  });

  it('refuses an event the shell never sends in that state', () => {
    expect(() =>
      workerStep(
        newWorker(def(), 0),
        { type: 'exited', code: 0, signal: null, stderrTail: '' },
        0,
        0,
      ),
    ).toThrow('engine: exited cannot happen to worker w (idle)');
  });
});
