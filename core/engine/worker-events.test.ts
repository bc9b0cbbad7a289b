/**
 * What a worker writes down, step by step (found unpinned by the mutation run): the
 * events and their fields, the task results it records, the depth it keeps, and the
 * waits that count no failure.
 */

import type { TaskRow, WorkerDef } from '../ports.js';
import {
  decideDrop,
  killGraceMsOf,
  newWorker,
  STDERR_TAIL_BYTES_MAX,
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
  env: [],
  cwd: '/srv',
  backoffMsInitial: 200,
  backoffMsMax: 30_000,
  timeoutMs: 0,
  crashLoopMax: 1,
  crashLoopWindowMs: 300_000,
  createdAtWallMs: 0,
  ...over,
});

const task = (id: string, attempt = 0): TaskRow => ({
  id,
  worker: 'w',
  seq: 1,
  payload: new Uint8Array(),
  attempt,
  state: 'queued',
  pushedAtWallMs: 0,
});

/** A worker driven one event at a time, keeping every effect. */
class Driver {
  rec: WorkerRec;
  nowMs = 0;
  wallMs = 5000;
  effects: WorkerEffect[] = [];
  constructor(d: WorkerDef = def(), depth = 0) {
    this.rec = newWorker(d, depth);
  }
  on(event: WorkerEvent): WorkerEffect[] {
    const r = workerStep(this.rec, event, this.nowMs, this.wallMs);
    this.rec = r.rec;
    this.effects.push(...r.effects);
    return r.effects;
  }
  /** Pushed, head loaded, spawned as `pid`. */
  running(id: string, depth = 1, pid = 100): void {
    this.on({ type: 'pushed', count: depth });
    this.on({ type: 'head', task: task(id), depth });
    this.on({ type: 'spawned', pid });
  }
}

const events = (effects: WorkerEffect[], ev: string) =>
  effects.flatMap((e) => (e.type === 'append-event' && e.ev === ev ? [e.fields] : []));

describe('worker events and records', () => {
  it('writes the start and the success of a task, and removes it', () => {
    const w = new Driver(def({ timeoutMs: 500 }));
    w.running('T1', 3);
    expect(events(w.effects, 'worker-task-start')).toEqual([
      { worker: 'w', task: 'T1', attempt: 1, pid: 100 },
    ]);
    expect(w.effects).toContainEqual({ type: 'arm-timer', kind: 'timeout', atMs: 500 });
    w.nowMs = 40;
    const done = w.on({ type: 'exited', code: 0, signal: null, stderrTail: 'noise' });
    expect(done).toContainEqual({
      type: 'record-done',
      taskId: 'T1',
      result: { code: 0, signal: null, reason: 'exit', stderrTail: '', wallMs: 5000 },
    });
    expect(events(done, 'worker-task-done')).toEqual([
      { worker: 'w', task: 'T1', attempt: 1, run_ms: 40 },
    ]);
    expect(done).toContainEqual({ type: 'cancel-timer', kind: 'timeout' });
    expect(w.rec).toMatchObject({ state: 'delivering', depth: 2, head: null, pid: null });
  });

  it('records a failure with the tail of stderr, then a dead letter', () => {
    const w = new Driver(def({ crashLoopMax: 1 }));
    w.running('T1');
    const long = `${'x'.repeat(STDERR_TAIL_BYTES_MAX)}END`;
    const failed = w.on({ type: 'exited', code: 3, signal: null, stderrTail: long });
    expect(failed).toContainEqual({
      type: 'record-failed',
      taskId: 'T1',
      result: {
        code: 3,
        signal: null,
        reason: 'exit',
        stderrTail: long.slice(-STDERR_TAIL_BYTES_MAX),
        wallMs: 5000,
      },
    });
    expect(events(failed, 'worker-task-failed')).toEqual([
      { worker: 'w', task: 'T1', attempt: 1, code: 3, signal: '', reason: 'exit', backoff_ms: 200 },
    ]);
    expect(w.rec).toMatchObject({ state: 'backoff', pid: null, backoffMs: 400 });
    w.nowMs = 200;
    w.on({ type: 'timer', kind: 'backoff' });
    w.on({ type: 'head', task: task('T1', 1), depth: 1 });
    w.on({ type: 'spawned', pid: 101 });
    const dead = w.on({ type: 'exited', code: null, signal: 'SIGSEGV', stderrTail: '' });
    expect(events(dead, 'worker-task-dead')).toEqual([
      {
        worker: 'w',
        task: 'T1',
        attempt: 2,
        code: -1,
        signal: 'SIGSEGV',
        reason: 'signal',
        failures: 2,
      },
    ]);
    expect(dead.find((e) => e.type === 'record-dead')).toMatchObject({
      taskId: 'T1',
      result: { code: null, signal: 'SIGSEGV', reason: 'signal' },
    });
    expect(w.rec).toMatchObject({ state: 'delivering', depth: 0, backoffMs: 200 });
  });

  it('starts a new head with a fresh backoff and death window', () => {
    const w = new Driver(def({ crashLoopMax: 5 }));
    w.running('T1', 2);
    w.on({ type: 'exited', code: 1, signal: null, stderrTail: '' });
    expect(w.rec).toMatchObject({ deathsTaskId: 'T1', deathsMs: [0], backoffMs: 400 });
    w.on({ type: 'timer', kind: 'backoff' });
    w.on({ type: 'head', task: task('T2'), depth: 0 });
    expect(w.rec).toMatchObject({ deathsTaskId: 'T2', deathsMs: [], backoffMs: 200, depth: 1 });
  });

  it('goes idle on an empty queue, forgetting what held it', () => {
    const w = new Driver();
    w.on({ type: 'pushed', count: 2 });
    w.on({ type: 'blocked', message: 'workspace ws is stopping' });
    expect(w.rec).toMatchObject({ state: 'backoff', held: 'workspace ws is stopping' });
    w.on({ type: 'timer', kind: 'backoff' });
    w.on({ type: 'head', task: null, depth: 0 });
    expect(w.rec).toMatchObject({ state: 'idle', depth: 0, held: null, head: null });
  });

  it('waits longer each time it is blocked, recording nothing', () => {
    const w = new Driver();
    w.on({ type: 'pushed', count: 1 });
    const first = w.on({ type: 'blocked', message: 'down' });
    expect(first).toEqual([{ type: 'arm-timer', kind: 'backoff', atMs: 200 }]);
    w.nowMs = 200;
    w.on({ type: 'timer', kind: 'backoff' });
    expect(w.on({ type: 'blocked', message: 'down' })).toEqual([
      { type: 'arm-timer', kind: 'backoff', atMs: 600 },
    ]);
  });

  it('writes a failed store write and waits', () => {
    const w = new Driver();
    w.on({ type: 'pushed', count: 1 });
    const failed = w.on({ type: 'store-failed', message: 'disk full' });
    expect(events(failed, 'worker-store-failed')).toEqual([{ worker: 'w', message: 'disk full' }]);
    expect(w.rec).toMatchObject({ state: 'backoff', held: 'disk full' });
  });

  it('records a failed spawn as a failure of the task', () => {
    const w = new Driver(def({ crashLoopMax: 3 }));
    w.on({ type: 'pushed', count: 1 });
    w.on({ type: 'head', task: task('T1'), depth: 1 });
    const failed = w.on({ type: 'spawn-failed', message: 'exec /bin/cat: ENOENT' });
    expect(failed.find((e) => e.type === 'record-failed')).toMatchObject({
      result: {
        code: null,
        signal: null,
        reason: 'spawn-failed',
        stderrTail: 'exec /bin/cat: ENOENT',
      },
    });
  });

  it('writes a timeout with its grace, and the kill as a timeout failure', () => {
    const w = new Driver(def({ timeoutMs: 100, crashLoopMax: 3 }));
    w.running('T1');
    w.nowMs = 100;
    const timeout = w.on({ type: 'timer', kind: 'timeout' });
    expect(events(timeout, 'worker-task-timeout')).toEqual([
      { worker: 'w', task: 'T1', pid: 100, timeout_ms: 100, grace_ms: TASK_KILL_GRACE_MS },
    ]);
    expect(w.on({ type: 'timer', kind: 'timeout' })).toEqual([]);
    const exit = w.on({ type: 'exited', code: 0, signal: null, stderrTail: '' });
    expect(exit.find((e) => e.type === 'record-failed')).toMatchObject({
      result: { reason: 'timeout', code: 0 },
    });
  });

  it('writes a task stopped with its workspace, and its end', () => {
    const w = new Driver(def({ timeoutMs: 100 }));
    w.running('T1');
    const stop = w.on({ type: 'suspend', graceMs: 300, why: 'ws stops' });
    expect(events(stop, 'worker-task-stop')).toEqual([
      { worker: 'w', task: 'T1', pid: 100, grace_ms: 300 },
    ]);
    expect(stop).toEqual(
      expect.arrayContaining([
        { type: 'cancel-timer', kind: 'timeout' },
        { type: 'cancel-timer', kind: 'kill' },
        { type: 'arm-timer', kind: 'kill', atMs: 300 },
      ]),
    );
    expect(w.on({ type: 'timer', kind: 'timeout' })).toEqual([]);
    expect(w.on({ type: 'timer', kind: 'kill' })).toEqual([
      { type: 'signal', pid: 100, signal: 'SIGKILL' },
    ]);
    const end = w.on({ type: 'exited', code: null, signal: 'SIGKILL', stderrTail: '' });
    expect(events(end, 'worker-task-stopped')).toEqual([
      { worker: 'w', task: 'T1', attempt: 1, code: -1, signal: 'SIGKILL' },
    ]);
    expect(w.rec).toMatchObject({ state: 'backoff', held: 'ws stops' });
  });

  it('drops at once when nothing runs, cancelling its backoff', () => {
    const w = new Driver();
    w.on({ type: 'pushed', count: 1 });
    w.on({ type: 'blocked', message: 'down' });
    expect(w.on({ type: 'drain' })).toEqual([
      { type: 'cancel-timer', kind: 'backoff' },
      { type: 'drop' },
    ]);
    expect(w.rec).toMatchObject({ state: 'draining', head: null, pid: null });
  });

  it('counts pushes while busy and takes the queue depth the store reports', () => {
    const w = new Driver();
    w.running('T1', 1);
    w.on({ type: 'pushed', count: 4 });
    expect(w.rec.depth).toBe(5);
  });

  it('has a 5 s default kill grace, and refuses a time that is not an integer', () => {
    expect(killGraceMsOf(def())).toBe(5000);
    expect(killGraceMsOf(def({ killGraceMs: 0 }))).toBe(0);
    expect(() => workerStep(newWorker(def(), 0), { type: 'drain' }, 0.5, 0)).toThrow(
      'workerStep: nowMs must be an integer',
    );
  });

  it('starts idle with the initial backoff and the depth it is given', () => {
    expect(newWorker(def({ backoffMsInitial: 50 }), 7)).toEqual({
      def: def({ backoffMsInitial: 50 }),
      state: 'idle',
      depth: 7,
      head: null,
      pid: null,
      attempt: 0,
      startedAtMs: 0,
      deathsMs: [],
      deathsTaskId: null,
      backoffMs: 50,
      timedOut: false,
      held: null,
    });
  });

  it('passes the template to the process: exec, argv and cwd, no notify socket', () => {
    const w = new Driver();
    w.on({ type: 'pushed', count: 1 });
    const spawn = w
      .on({ type: 'head', task: task('T1'), depth: 1 })
      .find((e) => e.type === 'spawn');
    expect(spawn).toMatchObject({
      taskId: 'T1',
      attempt: 1,
      req: { exec: '/bin/cat', argv: ['cat'], cwd: '/srv', notify: false, watchdogUs: 0 },
    });
  });
});

describe('worker invariants, checked after every step', () => {
  const base = newWorker(def(), 1);
  const head = task('T1');

  it.each<[string, Partial<WorkerRec>, string]>([
    [
      'running without a process',
      { state: 'running', head },
      'running without a process or a head',
    ],
    [
      'stopping without a head',
      { state: 'stopping', pid: 7 },
      'running without a process or a head',
    ],
    ['a pid while waiting', { state: 'backoff', pid: 7 }, 'pid 7 outside running'],
    ['a head while idle', { state: 'idle', head }, 'idle with a head'],
    ['a negative depth', { state: 'backoff', depth: -1 }, 'negative depth -1'],
  ])('throws on %s', (_title, patch, message) => {
    const rec = { ...base, ...patch };
    // An event each state takes without changing what is checked.
    const event: WorkerEvent =
      rec.state === 'idle' ? { type: 'timer', kind: 'backoff' } : { type: 'pushed', count: 0 };
    expect(() => workerStep(rec, event, 0, 0)).toThrow(message);
  });

  it('accepts a process while draining, running or stopping', () => {
    for (const state of ['draining', 'running', 'stopping'] as const) {
      const rec = { ...base, state, pid: 7, head };
      expect(() => workerStep(rec, { type: 'timer', kind: 'backoff' }, 0, 0)).not.toThrow();
    }
  });

  it('drains a stopping worker too, and ignores what is late while waiting', () => {
    expect(decideDrop({ ...base, state: 'stopping', pid: 7, head }, true)).toBe('drain');
    const waiting = { ...base, state: 'backoff' as const };
    expect(workerStep(waiting, { type: 'timer', kind: 'timeout' }, 0, 0).effects).toEqual([]);
  });
});

describe('worker edges the first mutation run left', () => {
  it('times the run from its spawn, and a success clears the failures of the head', () => {
    const w = new Driver(def({ crashLoopMax: 5 }));
    w.on({ type: 'pushed', count: 3 });
    w.on({ type: 'head', task: task('T1'), depth: 3 });
    w.on({ type: 'spawned', pid: 100 });
    w.on({ type: 'exited', code: 1, signal: null, stderrTail: '' });
    w.nowMs = 200;
    w.on({ type: 'timer', kind: 'backoff' });
    w.on({ type: 'head', task: task('T1', 1), depth: 3 });
    w.on({ type: 'spawned', pid: 101 });
    w.nowMs = 260;
    const done = w.on({ type: 'exited', code: 0, signal: null, stderrTail: '' });
    expect(events(done, 'worker-task-done')).toEqual([
      { worker: 'w', task: 'T1', attempt: 2, run_ms: 60 },
    ]);
    expect(w.rec).toMatchObject({ deathsMs: [], deathsTaskId: null, backoffMs: 200, depth: 2 });
  });

  it('takes a dead letter off the depth', () => {
    const dead = new Driver(def({ crashLoopMax: 1 }));
    dead.running('T1', 3);
    dead.on({ type: 'exited', code: 1, signal: null, stderrTail: '' });
    dead.on({ type: 'timer', kind: 'backoff' });
    dead.on({ type: 'head', task: task('T1', 1), depth: 3 });
    dead.on({ type: 'spawned', pid: 101 });
    dead.on({ type: 'exited', code: 1, signal: null, stderrTail: '' });
    expect(dead.rec.depth).toBe(2);
  });

  it('sends only SIGKILL when the grace after a timeout is over', () => {
    const w = new Driver(def({ timeoutMs: 100 }));
    w.running('T1');
    w.on({ type: 'timer', kind: 'timeout' });
    expect(w.on({ type: 'timer', kind: 'kill' })).toEqual([
      { type: 'signal', pid: 100, signal: 'SIGKILL' },
    ]);
    expect(w.on({ type: 'timer', kind: 'backoff' })).toEqual([]);
  });

  it('cancels no timeout it never armed when its workspace stops', () => {
    const w = new Driver();
    w.running('T1');
    const stop = w.on({ type: 'suspend', graceMs: 0, why: 'ws' });
    expect(stop.filter((e) => e.type === 'cancel-timer')).toEqual([
      { type: 'cancel-timer', kind: 'kill' },
    ]);
    const end = w.on({ type: 'exited', code: 0, signal: null, stderrTail: '' });
    expect(events(end, 'worker-task-stopped')).toEqual([
      { worker: 'w', task: 'T1', attempt: 1, code: 0, signal: '' },
    ]);
  });

  it('forgets the process and the head once a drained task exits', () => {
    const w = new Driver();
    w.running('T1');
    w.on({ type: 'drain' });
    w.on({ type: 'exited', code: null, signal: 'SIGKILL', stderrTail: '' });
    expect(w.rec).toMatchObject({ state: 'draining', pid: null, head: null });
  });
});
