/**
 * How a running task is ended, with real processes and a real daemon: past its
 * `--timeout-ms` it gets SIGTERM first (a handler may clean up), SIGKILL after
 * `--kill-grace-ms`, and counts as a failure;
 * when its workspace stops it gets SIGTERM with the workspace's grace, is gone with the
 * workspace, and stays at the head of the queue without a failure counted.
 */

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import type { WorkerView } from '../../core/engine/worker-api.js';
import { Harness, harnessSkipReason, pidAlive, waitFor } from '../../testing/harness.js';
import { requestJson } from '../control/client.js';
import type { TaskJson } from '../control/routes-workers.js';

const why = harnessSkipReason();
const maybe = why ? describe.skip : describe;
if (why) console.warn(`${import.meta.url.split('/').pop()}: skipped: ${why}`);
jest.setTimeout(60_000);

/** Writes its pid, then waits; on SIGTERM it notes `term <attempt>` and exits 3. */
const SCRIPT = [
  'echo $$ > "$OUT.pid"',
  `trap 'echo "term $SHIPOTE_TASK_ATTEMPT" >> "$OUT"; exit 3' TERM`,
  'sleep 30 & wait',
].join('\n');

async function get<T>(h: Harness, path: string): Promise<T> {
  const r = await requestJson<T>(h.socketPath, 'GET', path);
  if (r.status !== 200) throw new Error(`GET ${path}: ${JSON.stringify(r.body)}`);
  return r.body;
}

const text = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8') : '');

maybe(`ending a worker's task${why ? ` (skipped: ${why})` : ''}`, () => {
  let h: Harness;
  beforeAll(async () => {
    h = new Harness();
    await h.startDaemon();
  });
  afterAll(async () => h?.close());

  async function workerIn(label: string, name: string, out: string, extra: string[] = []) {
    writeFileSync(join(h.dir, `${label}.toml`), `label = "${label}"\n`);
    expect((await h.cli(['workspace', 'create', join(h.dir, `${label}.toml`)])).code).toBe(0);
    const args = ['worker', 'create', label, '--name', name, '--env', `OUT=${out}`, ...extra];
    const create = await h.cli([...args, '--', '/bin/sh', '-c', SCRIPT]);
    expect(create).toMatchObject({ code: 0, stderr: '' });
    expect((await h.cli(['worker', 'push', name, 'x'])).code).toBe(0);
  }

  it('sends SIGTERM past the timeout (not SIGKILL) and counts a failure', async () => {
    const out = join(h.dir, 'timeout.out');
    await workerIn('t', 'slow', out, ['--timeout-ms', '300', '--restart-backoff-ms', '30000']);
    const w = await waitFor('the timed-out task to be counted', async () => {
      const v = await get<WorkerView>(h, '/v1/workers/slow');
      return v.failed >= 1 ? v : null;
    });
    expect(text(out)).toBe('term 1\n'); // its TERM handler ran
    expect(w.last).toMatchObject({ reason: 'timeout', code: 3 });
    expect(w.depth).toBe(1);
  });

  it('sends SIGKILL after --kill-grace-ms to a task that ignores SIGTERM', async () => {
    writeFileSync(join(h.dir, 'k.toml'), 'label = "k"\n');
    expect((await h.cli(['workspace', 'create', join(h.dir, 'k.toml')])).code).toBe(0);
    const stubborn = [
      'worker',
      'create',
      'k',
      '--name',
      'stubborn',
      '--timeout-ms',
      '200',
      '--kill-grace-ms',
      '300',
      '--restart-backoff-ms',
      '30000',
      '--',
      '/bin/sh',
      '-c',
      "trap '' TERM; sleep 30 & wait; wait",
    ];
    expect((await h.cli(stubborn)).code).toBe(0);
    expect((await h.cli(['worker', 'push', 'stubborn', 'x'])).code).toBe(0);
    const w = await waitFor('the stubborn task to be killed', async () => {
      const v = await get<WorkerView>(h, '/v1/workers/stubborn');
      return v.failed >= 1 ? v : null;
    });
    expect(w.killGraceMs).toBe(300);
    expect(w.last).toMatchObject({ reason: 'timeout', signal: 'SIGKILL' });
  });

  it('ends the running task with its workspace; the task stays queued, no failure', async () => {
    const out = join(h.dir, 'stop.out');
    await workerIn('s', 'held', out);
    const pid = await waitFor('the task to run', () => Number(text(`${out}.pid`)) || null);
    const running = await get<WorkerView>(h, '/v1/workers/held');
    expect(running.running?.pid).toBe(pid);
    const stop = await h.cli(['workspace', 'stop', 's']);
    expect(stop.code).toBe(0);
    await waitFor('the task process to be gone', () => !pidAlive(pid));
    expect(text(out)).toBe('term 1\n');
    const w = await waitFor('the worker to hold', async () => {
      const v = await get<WorkerView>(h, '/v1/workers/held');
      return v.state === 'backoff' ? v : null;
    });
    expect(w).toMatchObject({ depth: 1, failed: 0, running: null });
    expect(w.held).toMatch(/workspace/);
    const tasks = await get<TaskJson[]>(h, '/v1/workers/held/tasks');
    expect(tasks.map((t) => t.attempt)).toEqual([1]);
  });
});
