/**
 * An idle daemon sleeps (docs/CLI.md, *Stats and quota sampling*): with ten sleeping
 * commands and nothing configured that needs a timer (no enforced limit, no TTL, no
 * watchdog, no worker), none of its threads wakes up once start-up has settled. Wakeups
 * are counted as the kernel sees them: voluntary context switches of every thread
 * (/proc/<pid>/task/<tid>/status); a thread blocked in epoll_wait or on a condition
 * variable without a timeout gains none, however loaded the machine is. And SQLite is not
 * loaded until the first worker is declared.
 */

import { readdirSync, readFileSync } from 'node:fs';
import { jest } from '@jest/globals';
import { Harness, harnessSkipReason, waitFor } from '../../testing/harness.js';
import { requestJson } from '../control/client.js';

const why = harnessSkipReason();
const maybe = why ? describe.skip : describe;
if (why) console.warn(`${import.meta.url.split('/').pop()}: skipped: ${why}`);
jest.setTimeout(120_000);

/** Voluntary context switches per thread id (threads that ended are left out). */
function switchesByThread(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const status = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
      out.set(tid, Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1] ?? 0));
    } catch {
      // Ended between readdir and read.
    }
  }
  return out;
}

/** Switches gained since `before`, summed over the threads alive in both samples. */
function gained(before: Map<string, number>, after: Map<string, number>): number {
  let total = 0;
  for (const [tid, n] of after) total += n - (before.get(tid) ?? n);
  return total;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves once a `quietMs` window passes with no wakeup (start-up work and GC done). */
async function settled(pid: number, quietMs: number, deadlineMs: number): Promise<void> {
  await waitFor(
    `a ${quietMs} ms window without a wakeup of daemon ${pid}`,
    async () => {
      const before = switchesByThread(pid);
      await sleep(quietMs);
      return gained(before, switchesByThread(pid)) === 0;
    },
    deadlineMs,
  );
}

const sqliteLoaded = (pid: number) =>
  readFileSync(`/proc/${pid}/maps`, 'utf8').includes('better_sqlite3');

maybe('an idle daemon', () => {
  const h = new Harness();
  afterAll(() => h.close());

  it('does not wake with ten sleeping commands; loads SQLite only for a worker', async () => {
    const daemon = await h.startDaemon();
    const pid = daemon.pid as number;
    const api = (method: string, path: string, body?: unknown) =>
      requestJson<unknown>(h.socketPath, method, path, body);
    expect((await api('POST', '/v1/workspaces', { toml: 'label = "idle"\n' })).status).toBe(200);
    for (let i = 0; i < 10; i++) {
      const run = await api('POST', '/v1/workspaces/idle/commands', {
        exec: '/bin/sleep',
        argv: ['3600'],
      });
      expect(run.status).toBe(200);
    }
    // After the last request the loop-delay histogram runs 10 s more and V8 may shrink its
    // heap with a GC or two (one-off work): poll for a 12 s window without any wakeup. A
    // timer of any period up to 12 s (the old 1 s HTTP check, a 10 s stats cadence) never
    // lets such a window pass.
    await settled(pid, 12_000, 80_000);
    expect(sqliteLoaded(pid)).toBe(false);
    const listed = await api('GET', '/v1/workspaces/idle/commands');
    const states = (listed.body as { state: string }[]).map((c) => c.state);
    expect(states).toEqual(Array(10).fill('running'));

    const worker = { workspace: 'idle', name: 'w', exec: '/bin/true' };
    expect((await api('POST', '/v1/workers', worker)).status).toBe(200);
    expect(sqliteLoaded(pid)).toBe(true);
  });
});
