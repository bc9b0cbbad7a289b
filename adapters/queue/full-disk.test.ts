/**
 * A real full disk: the queue on a 512 KiB tmpfs. Needs root (mount); skipped with the
 * reason otherwise. The push that does not fit is refused with a clear error, and every
 * task committed before it is still there, after a reopen too.
 */

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { QueuePush, WorkerDef } from '../../core/ports.js';
import { openSqliteQueueStore } from './sqlite-store.js';

function mountTmpfs(): { dir: string; skip: string | null } {
  const dir = mkdtempSync(join(tmpdir(), 'shipote-full-'));
  if (process.getuid?.() !== 0) return { dir, skip: 'needs root to mount a tmpfs' };
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=512k', 'tmpfs', dir], { stdio: 'pipe' });
    return { dir, skip: null };
  } catch (e) {
    return { dir, skip: `mount tmpfs failed: ${(e as Error).message.split('\n')[0]}` };
  }
}

const m = mountTmpfs();
const maybe = m.skip ? describe.skip : describe;
if (m.skip) console.warn(`full-disk.test.ts: skipped: ${m.skip}`);

afterAll(() => {
  if (!m.skip) execFileSync('umount', [m.dir]);
  rmSync(m.dir, { recursive: true, force: true });
});

const def: WorkerDef = {
  name: 'w',
  wsId: 'ws',
  exec: '/bin/cat',
  argv: [],
  env: [],
  cwd: '',
  backoffMsInitial: 200,
  backoffMsMax: 30_000,
  timeoutMs: 0,
  crashLoopMax: 3,
  crashLoopWindowMs: 300_000,
  createdAtWallMs: 0,
};

const push = (id: string, bytes: number): QueuePush => ({
  worker: 'w',
  id,
  payload: new Uint8Array(bytes).fill(120),
  pushedAtWallMs: 0,
});

maybe(`queue store on a full tmpfs${m.skip ? ` (skipped: ${m.skip})` : ''}`, () => {
  it('refuses the push that does not fit, names the cause, and keeps every queued task', () => {
    const path = join(m.dir, 'queue.db');
    const store = openSqliteQueueStore({ path });
    expect(store.createWorker(def).ok).toBe(true);
    const kept: string[] = [];
    let refused: { reason: string; message: string } | null = null;
    for (let i = 0; i < 200 && refused === null; i++) {
      const r = store.push([push(`t${i}`, 16 * 1024)]);
      if (r.ok) kept.push(`t${i}`);
      else refused = r.error;
    }
    expect(refused).toMatchObject({ reason: 'LimitExceeded' });
    expect(refused?.message).toMatch(/queue store .*queue\.db is full \(SQLITE_FULL\)/);
    expect(kept.length).toBeGreaterThan(3);
    const listed = store.tasks('w', 1000);
    expect(listed.ok && listed.value.map((t) => t.id)).toEqual(kept);
    store.close();
    const again = openSqliteQueueStore({ path });
    const reread = again.tasks('w', 1000);
    expect(reread.ok && reread.value.map((t) => t.id)).toEqual(kept);
    again.close();
  });
});
