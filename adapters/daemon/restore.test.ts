/**
 * The daemon's own lifecycle against real processes: kill -9 and restart restores the
 * workspaces with their ids and relaunches a supervised pipeline; a corrupt snapshot is
 * set aside, not overwritten; SIGTERM flushes and exits 0; the CLI starts a daemon on
 * first use.
 */

import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { jest } from '@jest/globals';
import type { PipelineView, WorkspaceView } from '../../core/engine/api.js';
import { Harness, harnessSkipReason, pidAlive, waitFor } from '../../testing/harness.js';
import type { DoctorView } from '../control/types.js';

const why = harnessSkipReason();
const maybe = why ? describe.skip : describe;
if (why) console.warn(`${import.meta.url.split('/').pop()}: skipped: ${why}`);
jest.setTimeout(60_000);

const supervisedSpec = `label = "ticker"
workspace = "keep"
restart_on_failure = true
[[nodes]]
label = "tick"
payload.Native = { exec = "/bin/sh", argv = ["-c", "echo tick; exec sleep 60"], envp = [] }
[[nodes]]
label = "sink"
payload.Native = { exec = "/bin/cat", argv = [], envp = [] }
[[edges]]
from = 0
from_output = "stdout"
to = 1
to_input = "stdin"
`;

maybe(`shipote daemon lifecycle${why ? ` (skipped: ${why})` : ''}`, () => {
  let h: Harness;
  beforeEach(() => {
    h = new Harness();
  });
  afterEach(async () => h.close());

  it('restores workspace ids and relaunches a supervised pipeline after kill -9', async () => {
    await h.startDaemon();
    writeFileSync(join(h.dir, 'ws.toml'), 'label = "keep"\n');
    writeFileSync(join(h.dir, 'p.toml'), supervisedSpec);
    const made = await h.json<{ id: string }>(['workspace', 'create', join(h.dir, 'ws.toml')]);
    const before = await h.json<PipelineView>(['pipeline', 'run', join(h.dir, 'p.toml')]);
    const oldPids = before.nodes.map((n) => n.pid ?? 0);
    await waitFor('the snapshot to hold the pipeline', () => {
      const text = existsSync(h.statePath) ? readFileSync(h.statePath, 'utf8') : '';
      return text.includes(made.id) && text.includes('ticker');
    });
    await h.killDaemon('SIGKILL');
    await waitFor('the old children to die with the daemon', () =>
      oldPids.every((p) => !pidAlive(p)),
    );
    await h.startDaemon();
    const list = await h.json<WorkspaceView[]>(['workspace', 'list']);
    expect(list.map((w) => [w.id, w.label])).toEqual([[made.id, 'keep']]);
    const running = await waitFor('the pipeline to be relaunched', async () => {
      const all = await h.json<{ running: PipelineView[] }>(['pipeline', 'list']);
      return all.running.find((p) => p.label === 'ticker' && p.nodes.every((n) => n.alive));
    });
    expect(running.nodes.map((n) => n.pid)).not.toEqual(oldPids);
    expect(h.daemonLog).toMatch(/restore: restored: /);
  });

  it('sets a corrupt snapshot aside and starts fresh', async () => {
    const stateDir = dirname(h.statePath);
    rmSync(stateDir, { recursive: true, force: true });
    await import('node:fs').then((fs) => fs.mkdirSync(stateDir, { recursive: true }));
    writeFileSync(h.statePath, '{"version": 4, "workspaces": [tr');
    await h.startDaemon();
    // A snapshot set aside is a problem doctor lists: it exits 1, --json or not.
    const reply = await h.cli(['doctor', '--json']);
    expect(reply.code).toBe(1);
    const doctor = JSON.parse(reply.stdout) as DoctorView;
    expect(doctor.snapshot.restore?.outcome).toBe('set-aside');
    const aside = readdirSync(stateDir).filter((f) => f.startsWith('state.json.corrupt-'));
    expect(aside).toHaveLength(1);
    expect(readFileSync(join(stateDir, aside[0] ?? ''), 'utf8')).toBe(
      '{"version": 4, "workspaces": [tr',
    );
    const human = await h.cli(['doctor']);
    expect(human.stdout).toContain('NEEDS ATTENTION');
    expect(human.code).toBe(1);
  });

  it('flushes, ends its children and exits 0 on SIGTERM', async () => {
    const daemon = await h.startDaemon();
    writeFileSync(join(h.dir, 'ws.toml'), 'label = "term"\n');
    await h.cli(['workspace', 'create', join(h.dir, 'ws.toml')]);
    const run = await h.json<{ pid: number }>(['run', 'term', '--', 'sleep', '60']);
    const exited = new Promise<number | null>((r) => daemon.once('exit', (code) => r(code)));
    daemon.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(pidAlive(run.pid)).toBe(false);
    expect(readFileSync(h.statePath, 'utf8')).toContain('"term"');
    expect(existsSync(h.socketPath)).toBe(false);
  });

  it('is started by the CLI on first use, saying so on stderr', async () => {
    const r = await h.cli(['health', '--json'], { SHIPOTE_NO_AUTOSTART: '0' });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ workspaces: 0 });
    expect(r.stderr).toMatch(/^shipote: no daemon answered at .*; starting one \(pid (\d+), log/);
    const pid = Number(/pid (\d+)/.exec(r.stderr)?.[1]);
    process.kill(pid, 'SIGTERM');
    await waitFor('the started daemon to exit', () => !pidAlive(pid));
  });

  const hasPython = existsSync('/usr/bin/python3') || existsSync('/usr/local/bin/python3');
  const whyNotify = hasPython ? null : 'python3 is needed to receive datagrams';
  const notifyTitle = 'sends READY=1, WATCHDOG=1 and STOPPING=1 to NOTIFY_SOCKET';
  (whyNotify ? it.skip : it)(
    `${notifyTitle}${whyNotify ? ` (skipped: ${whyNotify})` : ''}`,
    async () => {
      const notifySocket = join(h.dir, 'notify.sock');
      const program = [
        'import socket',
        's = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)',
        `s.bind(${JSON.stringify(notifySocket)})`,
        "print('bound')",
        'while True:',
        "  print(s.recv(4096).decode().replace('\\n', ' '))",
      ].join('\n');
      const receiver = spawn('python3', ['-u', '-c', program]);
      let got = '';
      receiver.stdout.on('data', (c) => {
        got += c;
      });
      try {
        await waitFor('the receiver to bind', () => got.includes('bound'));
        process.env.NOTIFY_SOCKET = notifySocket;
        process.env.WATCHDOG_USEC = '400000';
        const daemon = await h.startDaemon().finally(() => {
          delete process.env.NOTIFY_SOCKET;
          delete process.env.WATCHDOG_USEC;
        });
        await waitFor(
          'READY=1 and a WATCHDOG=1',
          () => got.includes('READY=1') && got.includes('WATCHDOG=1'),
        );
        daemon.kill('SIGTERM');
        await waitFor('STOPPING=1', () => got.includes('STOPPING=1'));
      } finally {
        receiver.kill();
      }
    },
  );
});
