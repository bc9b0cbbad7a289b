import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { QueuePush, TaskResult, WorkerDef } from '../../core/ports.js';
import {
  openSqliteQueueStore,
  reasonForSqliteCode,
  type SqliteQueueStore,
} from './sqlite-store.js';

const def = (name: string): WorkerDef => ({
  name,
  wsId: 'ws1',
  exec: '/bin/cat',
  argv: ['cat'],
  env: [],
  cwd: '',
  backoffMsInitial: 200,
  backoffMsMax: 30_000,
  timeoutMs: 0,
  crashLoopMax: 3,
  crashLoopWindowMs: 300_000,
  createdAtWallMs: 1,
});

const push = (worker: string, id: string, text = id): QueuePush => ({
  worker,
  id,
  payload: new TextEncoder().encode(text),
  pushedAtWallMs: 5,
});

const result = (code: number): TaskResult => ({
  code,
  signal: null,
  reason: 'exit',
  stderrTail: code === 0 ? '' : 'boom',
  wallMs: 9,
});

function must<T>(r: { ok: true; value: T } | { ok: false; error: { message: string } }): T {
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

describe('SQLite queue store', () => {
  let dir: string;
  let store: SqliteQueueStore;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'shipote-queue-'));
    store = openSqliteQueueStore({ path: join(dir, 'queue.db') });
    must(store.createWorker(def('w')));
  });
  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps push order across one batch and the next', () => {
    must(store.push([push('w', 'a'), push('w', 'b')]));
    must(store.push([push('w', 'c')]));
    expect(must(store.tasks('w', 10)).map((t) => t.id)).toEqual(['a', 'b', 'c']);
    expect(must(store.head('w'))?.id).toBe('a');
    expect(must(store.depth('w'))).toBe(3);
    expect(must(store.counters('w')).pushed).toBe(3);
  });

  it('stores a whole batch or nothing of it', () => {
    must(store.push([push('w', 'a')]));
    const r = store.push([push('w', 'b'), push('nope', 'c')]);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.reason).toBe('NotFound');
    expect(must(store.tasks('w', 10)).map((t) => t.id)).toEqual(['a']);
  });

  it('records attempts, and removes a task only on complete', () => {
    must(store.push([push('w', 'a'), push('w', 'b')]));
    expect(must(store.startAttempt('w', 'a'))).toEqual({ attempt: 1 });
    expect(must(store.head('w'))).toMatchObject({ id: 'a', state: 'running', attempt: 1 });
    must(store.fail('w', 'a', result(1)));
    expect(must(store.head('w'))).toMatchObject({ id: 'a', state: 'queued', attempt: 1 });
    expect(must(store.startAttempt('w', 'a'))).toEqual({ attempt: 2 });
    must(store.complete('w', 'a', result(0)));
    expect(must(store.head('w'))?.id).toBe('b');
    const c = must(store.counters('w'));
    expect([c.done, c.failed, c.dead]).toEqual([1, 1, 0]);
    expect(c.last).toMatchObject({ taskId: 'a', code: 0 });
  });

  it('moves a buried task to the dead letters and retry puts it at the tail', () => {
    must(store.push([push('w', 'a'), push('w', 'b')]));
    must(store.startAttempt('w', 'a'));
    must(store.bury('w', 'a', result(3)));
    expect(must(store.tasks('w', 10)).map((t) => t.id)).toEqual(['b']);
    const dead = must(store.dead('w', 10));
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({ id: 'a', attempt: 1, last: { code: 3, stderrTail: 'boom' } });
    const back = must(store.retry('w', 'a'));
    expect(back).toMatchObject({ id: 'a', attempt: 1, state: 'queued' });
    expect(must(store.tasks('w', 10)).map((t) => t.id)).toEqual(['b', 'a']);
    expect(must(store.dead('w', 10))).toEqual([]);
    const again = store.retry('w', 'a');
    expect(again.ok).toBe(false);
    if (!again.ok) expect(again.error.message).toBe(`no dead letter a in worker "w"`);
  });

  it('keeps what was committed across a reopen, payload bytes intact', () => {
    const bytes = new Uint8Array([0, 255, 10, 13, 0]);
    must(store.push([{ worker: 'w', id: 'a', payload: bytes, pushedAtWallMs: 1 }]));
    must(store.startAttempt('w', 'a'));
    store.close();
    store = openSqliteQueueStore({ path: join(dir, 'queue.db') });
    expect(must(store.workers()).map((d) => d.name)).toEqual(['w']);
    const head = must(store.head('w'));
    expect(head).toMatchObject({ id: 'a', attempt: 1, state: 'running' });
    expect([...(head?.payload ?? [])]).toEqual([...bytes]);
  });

  it('drops a worker with its tasks, dead letters and counters', () => {
    must(store.push([push('w', 'a'), push('w', 'b')]));
    must(store.bury('w', 'a', result(1)));
    expect(must(store.dropWorker('w'))).toEqual({ tasks: 1, dead: 1 });
    expect(must(store.workers())).toEqual([]);
    const again = store.dropWorker('w');
    expect(again.ok).toBe(false);
  });

  it('keeps each worker depth equal to its queued tasks through every kind of change', () => {
    must(store.createWorker(def('v')));
    const counted = (w: string) => must(store.tasks(w, 1000)).length;
    const agree = () => {
      for (const w of ['w', 'v']) expect(must(store.depth(w))).toBe(counted(w));
    };
    agree();
    must(store.push([push('w', 'a'), push('w', 'b'), push('v', 'c')]));
    agree();
    must(store.complete('w', 'a', result(0)));
    must(store.bury('v', 'c', result(1)));
    agree();
    must(store.retry('v', 'c'));
    must(store.fail('w', 'b', result(1)));
    agree();
    expect(store.complete('w', 'nope', result(0)).ok).toBe(false); // refused: no change
    expect(store.push([push('w', 'd'), push('w', 'a')]).ok).toBe(true);
    expect(store.push([push('w', 'e'), push('w', 'b')]).ok).toBe(false); // duplicate id
    agree();
    must(store.dropWorker('v'));
    must(store.createWorker(def('v')));
    agree();
    expect(must(store.depth('w'))).toBe(3);
  });

  it('refuses a second worker of the same name', () => {
    const r = store.createWorker(def('w'));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.reason).toBe('Exists');
  });

  it('gives the task after a seq, of that worker only, and only once durable', async () => {
    must(store.createWorker(def('v')));
    must(store.push([push('w', 'a'), push('v', 'x'), push('w', 'b')]));
    const [a, b] = must(store.tasks('w', 10));
    expect(must(store.next('w', a!.seq))?.id).toBe('b');
    expect(must(store.next('w', b!.seq))).toBeNull();
    expect(must(store.next('w', 0))?.id).toBe('a');
    const path = join(dir, 'next-deferred.db');
    const q = openSqliteQueueStore({ path, deferPushSync: true });
    try {
      must(q.createWorker(def('w')));
      must(q.push([push('w', 'a')]));
      await new Promise((resolve) => q.sync(resolve));
      must(q.push([push('w', 'b')]));
      const first = must(q.tasks('w', 1))[0]!;
      expect(must(q.next('w', first.seq))).toBeNull(); // b is stored, not yet durable
      await new Promise((resolve) => q.sync(resolve));
      expect(must(q.next('w', first.seq))?.id).toBe('b');
    } finally {
      q.close();
    }
  });

  it('with deferPushSync, delivers a push only once a sync made it durable', async () => {
    const path = join(dir, 'deferred.db');
    const q = openSqliteQueueStore({ path, deferPushSync: true });
    try {
      must(q.createWorker(def('w')));
      must(q.push([push('w', 'a')]));
      expect(must(q.depth('w'))).toBe(1); // stored
      expect(must(q.head('w'))).toBeNull(); // not delivered before it is durable
      const synced = await new Promise<{ ok: boolean }>((resolve) => q.sync(resolve));
      expect(synced.ok).toBe(true);
      expect(must(q.head('w'))?.id).toBe('a');
      must(q.push([push('w', 'b')]));
      must(q.startAttempt('w', 'a'));
      must(q.complete('w', 'a', result(0)));
      expect(must(q.head('w'))).toBeNull();
      // A FULL commit (a retry, a worker created) fsyncs the WAL: what came before is durable.
      must(q.createWorker(def('v')));
      expect(must(q.head('w'))?.id).toBe('b');
    } finally {
      q.close();
    }
    // Reopened (as after a kill -9), every stored task is delivered.
    const again = openSqliteQueueStore({ path, deferPushSync: true });
    try {
      expect(must(again.head('w'))?.id).toBe('b');
    } finally {
      again.close();
    }
  });

  it('answers sync after close with an error, not a crash', async () => {
    const q = openSqliteQueueStore({ path: join(dir, 'closed.db'), deferPushSync: true });
    q.close();
    const r = await new Promise<{ ok: boolean }>((resolve) => q.sync(resolve));
    expect(r.ok).toBe(false);
  });
});

describe('SQLite queue store on a full disk', () => {
  it('refuses the push with a clear error and keeps every task already queued', () => {
    // A real SQLITE_FULL from SQLite itself: the database may not grow past its page limit.
    const dir = mkdtempSync(join(tmpdir(), 'shipote-queue-full-'));
    const path = join(dir, 'queue.db');
    const setup = openSqliteQueueStore({ path });
    must(setup.createWorker(def('w')));
    const pages = setup.pageCount();
    setup.close();
    const store = openSqliteQueueStore({ path, maxPageCount: pages + 4 });
    try {
      must(store.push([push('w', 'a', 'small')]));
      const big = 'x'.repeat(64 * 1024);
      const r = store.push([push('w', 'b', big), push('w', 'c', big)]);
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.error.reason).toBe('LimitExceeded');
        expect(r.error.message).toMatch(/^queue store .*queue\.db is full \(SQLITE_FULL\)/);
        expect(r.error.message).toMatch(/nothing of this call was stored$/);
      }
      expect(must(store.tasks('w', 10)).map((t) => t.id)).toEqual(['a']);
      must(store.startAttempt('w', 'a'));
      must(store.complete('w', 'a', result(0)));
      expect(must(store.depth('w'))).toBe(0);
    } finally {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each([
    ['SQLITE_FULL', 'LimitExceeded'],
    ['SQLITE_CONSTRAINT_UNIQUE', 'Exists'],
    ['SQLITE_CONSTRAINT_FOREIGNKEY', 'NotFound'],
    ['SQLITE_BUSY', 'Busy'],
    ['SQLITE_CORRUPT', 'Corrupt'],
    ['SQLITE_IOERR_FSYNC', 'Unknown'],
    [undefined, 'Unknown'],
  ])('maps %s to %s', (code, reason) => {
    expect(reasonForSqliteCode(code)).toBe(reason);
  });
});
