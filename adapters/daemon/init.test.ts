/**
 * `shipote daemon --init` on the host (not pid 1: it makes itself a child subreaper, so
 * orphans come to it as they would to a container's pid 1): every orphan is reaped, SIGTERM
 * stops every workspace within the grace, and the exit status says whether that stop was
 * clean (0) or needed SIGKILL (1). The container suite proves the pid 1 case with Docker.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import { cliCommand, Harness, harnessSkipReason, waitFor } from '../../testing/harness.js';
import { socketAnswers } from '../control/server.js';

const why = harnessSkipReason();
const maybe = why ? describe.skip : describe;
if (why) console.warn(`${import.meta.url.split('/').pop()}: skipped: ${why}`);
jest.setTimeout(60_000);

function procStat(pid: number): { state: string; ppid: number } | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: rest[0] ?? '?', ppid: Number(rest[1]) };
  } catch {
    return null;
  }
}

async function startInit(h: Harness, graceMs: number): Promise<ChildProcess> {
  const args = [...cliCommand(), 'daemon', '--init', '--grace', String(graceMs)];
  const child = spawn(process.execPath, args, { env: h.env(), stdio: ['ignore', 'pipe', 'pipe'] });
  h.daemon = child;
  child.stderr?.on('data', (c) => {
    h.daemonLog += c;
  });
  await waitFor('the init daemon to answer', async () => {
    if (child.exitCode !== null) throw new Error(`daemon exited early:\n${h.daemonLog}`);
    return socketAnswers(h.socketPath);
  });
  writeFileSync(join(h.dir, 'ws.toml'), 'label = "svc"\n');
  expect(await h.cli(['workspace', 'create', join(h.dir, 'ws.toml')])).toMatchObject({ code: 0 });
  return child;
}

const exited = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

maybe(`shipote daemon --init${why ? ` (skipped: ${why})` : ''}`, () => {
  let h: Harness;
  beforeEach(() => {
    h = new Harness();
  });
  afterEach(async () => h.close());

  it('reaps orphans and exits 0 after a clean stop', async () => {
    const daemon = await startInit(h, 5000);
    // The shell leaves a sleep behind: reparented to the daemon, it must not stay a zombie.
    const leaver = 'sleep 0.5 & echo $!; exec sleep 0.1';
    await h.cli(['run', 'svc', '--label', 'leaver', '--', '/bin/sh', '-c', leaver]);
    const orphan = await waitFor('the orphan pid', async () => {
      const out = await h.cli(['logs', 'svc', 'leaver', '--stdout']);
      return Number(out.stdout.trim()) || null;
    });
    await waitFor('the orphan to be reparented to the daemon', () => {
      const s = procStat(orphan);
      return s === null || s.ppid === daemon.pid;
    });
    await waitFor('the orphan to be reaped (gone, not a zombie)', () => procStat(orphan) === null);
    const polite = 'trap "exit 0" TERM; while :; do sleep 0.05; done';
    await h.cli(['run', 'svc', '--label', 'polite', '--', '/bin/sh', '-c', polite]);
    await waitFor('polite to run', async () => (await h.cli(['ps'])).stdout.includes('polite'));
    const code = exited(daemon);
    daemon.kill('SIGTERM');
    expect(await code).toBe(0);
    expect(h.daemonLog).toMatch(/init: stop clean; \d+ processes stopped, [1-9]\d* orphans reaped/);
  });

  it('exits 1 when a service had to be killed past the grace', async () => {
    const daemon = await startInit(h, 300);
    const stubborn = 'trap "" TERM; echo up; while :; do sleep 0.05; done';
    await h.cli(['run', 'svc', '--label', 'stubborn', '--', '/bin/sh', '-c', stubborn]);
    await waitFor('stubborn to trap TERM', async () =>
      (await h.cli(['logs', 'svc', 'stubborn', '--stdout'])).stdout.includes('up'),
    );
    const code = exited(daemon);
    daemon.kill('SIGTERM');
    expect(await code).toBe(1);
    expect(h.daemonLog).toContain('init: stop not clean: killed svc/stubborn');
  });
});
