/**
 * shipote as PID 1 of a container (`shipote daemon --init`): services run, orphans keep
 * being made and no zombie remains at any point; `docker stop` stops every service
 * gracefully within the grace and the container exits 0; a service that ignores SIGTERM
 * makes the exit status non-zero.
 */

import { acquireContainer, type E2eContainer } from './harness/container.js';
import { shipoteSkipReason, srcInContainer } from './harness/env.js';
import { pollUntil } from './harness/poll.js';

const why = shipoteSkipReason();
const test = why ? it.skip : it;
const skipNote = why ? ` (skipped: ${why})` : '';
const cli = ['node', `${srcInContainer}/bin/shipote.mjs`];

/** PID 1 is shipote; cgroups stay off (this suite is about pid 1, not limits). */
async function initContainer(graceMs: number): Promise<E2eContainer> {
  return acquireContainer(undefined, {
    entrypoint: [...cli, 'daemon', '--init', '--grace', String(graceMs)],
    env: { SHIPOTE_CGROUPS: 'off', NO_COLOR: '1' },
  });
}

/** Zombies in the container: `pid ppid` of every process in state Z. */
async function zombies(c: E2eContainer): Promise<string[]> {
  const r = await c.sh('cat /proc/[0-9]*/stat 2>/dev/null | awk \'$3 == "Z" { print $1, $4 }\'');
  return r.stdout.split('\n').filter(Boolean);
}

async function shipote(c: E2eContainer, args: string[]): Promise<string> {
  const r = await c.exec([...cli, ...args], { env: { SHIPOTE_NO_AUTOSTART: '1' } });
  if (r.exitCode !== 0) throw new Error(`shipote ${args.join(' ')}: ${r.exitCode} ${r.stderr}`);
  return r.stdout;
}

async function withServices(c: E2eContainer, stubborn: boolean): Promise<void> {
  // The default socket for root: /run/shipote/shipote.sock, the system unit's.
  await pollUntil(async () => ((await c.exec([...cli, 'health'])).exitCode === 0 ? 1 : undefined), {
    what: 'shipote (pid 1) to answer health',
  });
  expect((await c.sh('cat /proc/1/cmdline | tr "\\0" " "')).stdout).toContain('daemon --init');
  await c.writeFile('/tmp/ws.toml', 'label = "svc"\n');
  await shipote(c, ['workspace', 'create', '/tmp/ws.toml']);
  const polite =
    'trap "echo polite-got-term > /proc/1/fd/2; exit 0" TERM; while :; do sleep 0.05; done';
  await shipote(c, ['run', 'svc', '--label', 'polite', '--', '/bin/sh', '-c', polite]);
  // Leaves an orphan every 50 ms: each is reparented to pid 1 and must be reaped there.
  const orphans = 'trap "exit 0" TERM; while :; do (sleep 0.02 &); sleep 0.05; done';
  await shipote(c, ['run', 'svc', '--label', 'orphans', '--', '/bin/sh', '-c', orphans]);
  if (stubborn) {
    const deaf = 'trap "" TERM; echo up; while :; do sleep 0.05; done';
    await shipote(c, ['run', 'svc', '--label', 'deaf', '--', '/bin/sh', '-c', deaf]);
  }
  await pollUntil(
    async () =>
      (await shipote(c, ['ps'])).match(/running/g)?.length === (stubborn ? 3 : 2) ? 1 : undefined,
    { what: 'the services to run' },
  );
}

describe(`shipote as PID 1 of a container${skipNote}`, () => {
  test('reaps every orphan; docker stop stops every service gracefully and exits 0', async () => {
    const c = await initContainer(5000);
    try {
      await withServices(c, false);
      // A zombie seen twice, 300 ms apart, was not reaped: none may remain.
      let lingering: string[] = [];
      let seen = new Set<string>();
      for (let round = 0; round < 10; round += 1) {
        const now = await zombies(c);
        lingering = lingering.concat(now.filter((z) => seen.has(z)));
        seen = new Set(now);
        await new Promise((r) => setTimeout(r, 300));
      }
      expect(lingering).toEqual([]);
      const { exitCode, logs } = await c.dockerStop(10);
      expect(logs).toContain('polite-got-term');
      expect(logs).toMatch(/init: stop clean; \d+ processes stopped, [1-9]\d* orphans reaped/);
      expect(exitCode).toBe(0);
    } finally {
      await c.release();
    }
  }, 120_000);

  test('a service that ignores SIGTERM is killed past the grace: exit status 1', async () => {
    const c = await initContainer(1000);
    try {
      await withServices(c, true);
      const { exitCode, logs } = await c.dockerStop(10);
      expect(logs).toContain('init: stop not clean: killed svc/deaf');
      expect(exitCode).toBe(1);
    } finally {
      await c.release();
    }
  }, 120_000);
});
