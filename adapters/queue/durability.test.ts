/**
 * The durable queue with real processes and a real daemon: 1,000 tasks each append their
 * id to a file; the daemon is killed with SIGKILL once in the middle of the queue and
 * once while a task runs. After the restarts every task id appears exactly once, in push
 * order, except a task that was running at a kill, which may appear twice (the second
 * time with attempt 2). Then a task that always fails ends dead-lettered and `worker
 * retry` puts it back.
 */

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import type { WorkerView } from '../../core/engine/worker-api.js';
import { Harness, harnessSkipReason, waitFor } from '../../testing/harness.js';
import { requestJson } from '../control/client.js';
import type { TaskJson } from '../control/routes-workers.js';

const why = harnessSkipReason();
const maybe = why ? describe.skip : describe;
if (why) console.warn(`${import.meta.url.split('/').pop()}: skipped: ${why}`);
jest.setTimeout(240_000);

const TASKS = 1000;
/** Tasks that sleep on their first attempt: the daemon is killed while each runs. */
const SLOW = [300, 700];

/** Appends `id attempt index`; a slow task then sleeps on its first attempt. */
const SCRIPT = [
  'read -r x',
  'echo "$SHIPOTE_TASK_ID $SHIPOTE_TASK_ATTEMPT $x" >> "$OUT"',
  `case "$x.$SHIPOTE_TASK_ATTEMPT" in ${SLOW.map((i) => `${i}.1`).join('|')}) exec sleep 60;; esac`,
].join('\n');

interface Line {
  id: string;
  attempt: number;
  index: number;
}

function lines(path: string): Line[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const [id = '', attempt = '', index = ''] = l.split(' ');
      return { id, attempt: Number(attempt), index: Number(index) };
    });
}

async function pushAll(h: Harness, name: string, n: number, clients: number) {
  const acks: { id: string; seq: number; index: number }[] = [];
  let next = 0;
  const client = async () => {
    while (next < n) {
      const index = next++;
      const body = new TextEncoder().encode(`${index}\n`);
      const r = await requestJson<{ id: string; seq: number }>(
        h.socketPath,
        'POST',
        `/v1/workers/${name}/tasks`,
        body,
      );
      if (r.status !== 200) throw new Error(`push ${index}: ${JSON.stringify(r.body)}`);
      acks.push({ ...r.body, index });
    }
  };
  await Promise.all(Array.from({ length: clients }, client));
  return acks.sort((a, b) => a.seq - b.seq);
}

async function worker(h: Harness, name: string): Promise<WorkerView> {
  const r = await requestJson<WorkerView>(h.socketPath, 'GET', `/v1/workers/${name}`);
  if (r.status !== 200) throw new Error(JSON.stringify(r.body));
  return r.body;
}

maybe(`worker queue against a real daemon${why ? ` (skipped: ${why})` : ''}`, () => {
  let h: Harness;
  beforeAll(async () => {
    h = new Harness();
    await h.startDaemon();
    writeFileSync(join(h.dir, 'ws.toml'), 'label = "q"\n');
    expect((await h.cli(['workspace', 'create', join(h.dir, 'ws.toml')])).code).toBe(0);
  });
  afterAll(async () => h?.close());

  it('survives two kill -9: each task once in push order, a running one maybe twice', async () => {
    const out = join(h.dir, 'out.txt');
    const create = await h.cli([
      'worker',
      'create',
      'q',
      '--name',
      'app',
      '--env',
      `OUT=${out}`,
      '--',
      '/bin/sh',
      '-c',
      SCRIPT,
    ]);
    expect(create).toMatchObject({ code: 0, stderr: '' });
    const acks = await pushAll(h, 'app', TASKS, 16);
    expect(acks).toHaveLength(TASKS);

    // Kill 1 in the middle of the queue, kill 2 further on: each while a slow task runs.
    for (const index of SLOW) {
      const slow = acks.find((a) => a.index === index);
      const running = await waitFor(`task ${index} to run`, async () => {
        const w = await worker(h, 'app');
        return w.running?.taskId === slow?.id ? w : null;
      });
      expect(running.running?.attempt).toBe(1);
      expect(running.depth).toBe(TASKS - index);
      await h.killDaemon('SIGKILL');
      await h.startDaemon();
    }
    await waitFor('the queue to drain', async () => (await worker(h, 'app')).depth === 0, 120_000);
    const all = lines(out);
    const order = all.map((l) => l.id).filter((id, i, ids) => i === 0 || ids[i - 1] !== id);
    expect(order).toEqual(acks.map((a) => a.id));
    const twice = all.filter((l, i) => i > 0 && all[i - 1]?.id === l.id);
    expect(twice.map((l) => [l.index, l.attempt])).toEqual(SLOW.map((i) => [i, 2]));
    for (const l of all) expect(l.attempt === 1 || l.attempt === 2).toBe(true);
    const w = await worker(h, 'app');
    expect(w).toMatchObject({ done: TASKS, dead: 0, depth: 0, running: null });
    const metrics = (await requestJson<string>(h.socketPath, 'GET', '/metrics')).body;
    expect(metrics).toContain(`shipote_worker_tasks_total{worker="app",outcome="done"} ${TASKS}`);
    expect(metrics).toContain(`shipote_worker_tasks_total{worker="app",outcome="pushed"} ${TASKS}`);
    expect(metrics).toContain('shipote_worker_queue_depth{worker="app"} 0');
  });

  it('dead-letters a task that always fails, and worker retry puts it back', async () => {
    const okFile = join(h.dir, 'ok');
    const script = `if [ -f "${okFile}" ]; then exit 0; fi; echo "no ok file" >&2; exit 3`;
    const args = ['--restart-backoff-ms', '10', '--crash-loop-max', '2'];
    const create = ['worker', 'create', 'q', '--name', 'bad', ...args, '--', 'sh', '-c', script];
    expect((await h.cli(create)).code).toBe(0);
    const push = await h.cli(['worker', 'push', 'bad', 'payload']);
    expect(push.code).toBe(0);
    const id = push.stdout.trim();
    expect(id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    const dead = await waitFor('the dead letter', async () => {
      const list = await h.json<TaskJson[]>(['worker', 'tasks', 'bad', '--dead']);
      return list.length === 1 ? list : null;
    });
    expect(dead[0]).toMatchObject({ id, attempt: 3, state: 'dead' });
    expect(dead[0]?.last).toMatchObject({ code: 3, reason: 'exit', stderrTail: 'no ok file\n' });
    const ls = await h.cli(['worker', 'ls']);
    const fix = `fix: shipote worker retry bad ${id}`;
    expect(ls.stdout).toContain(`bad: dead letter ${id} after 3 attempts (exit 3); ${fix}`);
    const doctor = await h.cli(['doctor']);
    expect(doctor.stdout).toContain(`worker bad: task ${id} dead after 3 attempts (exit 3)`);
    expect(doctor.stdout).toContain(fix.slice('fix: '.length));
    // The drained worker of the first test has nothing left: it may go without --force.
    expect(await h.cli(['worker', 'drop', 'app'])).toMatchObject({
      code: 0,
      stdout: 'app dropped\n',
    });
    writeFileSync(okFile, '');
    const retry = await h.cli(['worker', 'retry', 'bad', id]);
    expect(retry).toMatchObject({ code: 0, stderr: '' });
    await waitFor('the retried task to finish', async () => {
      const w = await worker(h, 'bad');
      return w.done === 1 ? w : null;
    });
    const w = await worker(h, 'bad');
    expect(w).toMatchObject({ depth: 0, done: 1, dead: 1, deadLetters: [] });
  });

  it('refuses to drop a worker with tasks unless --force', async () => {
    const create = await h.cli(['worker', 'create', 'q', '--name', 'slow', '--', 'sleep', '60']);
    expect(create.code).toBe(0);
    expect((await h.cli(['worker', 'push', 'slow', 'a'])).code).toBe(0);
    const refused = await h.cli(['worker', 'drop', 'slow']);
    expect(refused.code).toBe(4);
    expect(refused.stderr).toBe(
      'shipote: worker "slow" still has 1 task(s); drop it with --force to discard them, ' +
        'or wait until its queue is empty\n',
    );
    const pid = (await worker(h, 'slow')).running?.pid;
    expect(pid).toEqual(expect.any(Number));
    expect((await h.cli(['worker', 'drop', 'slow', '--force'])).code).toBe(0);
    const gone = await h.cli(['worker', 'tasks', 'slow']);
    expect(gone).toMatchObject({ code: 3, stderr: 'shipote: no worker "slow"\n' });
    expect(existsSync(`/proc/${pid}`)).toBe(false);
  });
});
