import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WorkerDef } from '../../core/ports.js';
import { openSqliteQueueStore } from '../queue/index.js';
import { type DaemonQueue, daemonQueue, lazyQueue } from './lazy-queue.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'shipote-lazyq-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const def: WorkerDef = {
  name: 'w',
  wsId: 'ws1',
  exec: '/bin/true',
  argv: [],
  env: [],
  cwd: '/',
  backoffMsInitial: 100,
  backoffMsMax: 1000,
  timeoutMs: 0,
  crashLoopMax: 3,
  crashLoopWindowMs: 60_000,
  createdAtWallMs: 1,
};

describe('the lazily opened queue store', () => {
  it('passes sync through to a store with group commit: its pushes become deliverable', () => {
    const path = join(dir, 'queue.db');
    const q = lazyQueue(path, () => openSqliteQueueStore({ path, deferPushSync: true }));
    expect(q.createWorker(def).ok).toBe(true);
    expect(
      q.push([{ worker: 'w', id: 'T1', payload: new Uint8Array(), pushedAtWallMs: 1 }]).ok,
    ).toBe(true);
    return new Promise<void>((resolve) => {
      q.sync?.((result) => {
        expect(result).toEqual({ ok: true, value: true });
        expect(q.head('w')).toMatchObject({ ok: true, value: { id: 'T1' } });
        q.close();
        resolve();
      });
    });
  });

  it('answers no workers without opening while the file is absent; opens on a write', () => {
    const path = join(dir, 'queue.db');
    let opens = 0;
    const q = lazyQueue(path, () => {
      opens += 1;
      return openSqliteQueueStore({ path });
    });
    expect(q.workers()).toEqual({ ok: true, value: [] });
    expect(opens).toBe(0);
    expect(existsSync(path)).toBe(false);
    expect(q.createWorker(def)).toEqual({ ok: true, value: true });
    expect(opens).toBe(1);
    const workers = q.workers();
    expect(workers.ok && workers.value.map((w) => w.name)).toEqual(['w']);
    expect(q.depth('w')).toEqual({ ok: true, value: 0 });
    expect(opens).toBe(1);
    q.close();
  });

  it('answers every call with an error naming the path when it cannot be opened', () => {
    const path = join(dir, 'queue.db');
    let opens = 0;
    const q: DaemonQueue = lazyQueue(path, () => {
      opens += 1;
      return null;
    });
    const created = q.createWorker(def);
    expect(created.ok).toBe(false);
    if (!created.ok) expect(created.error.message).toContain(path);
    expect(q.depth('w').ok).toBe(false);
    expect(opens).toBe(1);
    q.close();
  });

  it('is opened at once when the database file exists (its workers are restored)', () => {
    const path = join(dir, 'queue.db');
    const first = openSqliteQueueStore({ path });
    first.createWorker(def);
    first.close();
    const env = { SHIPOTE_QUEUE: path };
    const q = daemonQueue(env, join(dir, 'state.json'), () => undefined) as DaemonQueue;
    const workers = q.workers();
    expect(workers.ok && workers.value.map((w) => w.name)).toEqual(['w']);
    q.close();
  });

  it('says why when an existing file is not a database (workers unavailable, daemon up)', () => {
    const path = join(dir, 'queue.db');
    writeFileSync(path, 'not sqlite at all, not at all, not at all, not at all\n'.repeat(200));
    const lines: string[] = [];
    const q = daemonQueue({ SHIPOTE_QUEUE: path }, join(dir, 'state.json'), (l) => lines.push(l));
    expect(q).toBeNull();
    expect(lines.join('\n')).toContain(path);
  });
});
