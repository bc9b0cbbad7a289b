/**
 * `ps`, `status` and `top` against a real daemon: rows for commands and pipeline nodes with
 * RSS of the live ones, status with its process tree and last log lines, and `top` in a
 * real terminal (tmux): it draws, redraws in place when a command appears, and quits on q.
 */

import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import { cliCommand, Harness, harnessSkipReason, waitFor } from '../../testing/harness.js';
import type { PsRow } from '../control/routes-ps.js';

const why = harnessSkipReason();
const maybe = why ? describe.skip : describe;
if (why) console.warn(`${import.meta.url.split('/').pop()}: skipped: ${why}`);
jest.setTimeout(60_000);

function hasTmux(): boolean {
  try {
    execFileSync('tmux', ['-V'], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

maybe(`ps, status and top against a real daemon${why ? ` (skipped: ${why})` : ''}`, () => {
  let h: Harness;
  beforeAll(async () => {
    h = new Harness();
    await h.startDaemon();
    writeFileSync(join(h.dir, 'ws.toml'), 'label = "views"\n');
    expect(await h.cli(['workspace', 'create', join(h.dir, 'ws.toml')])).toMatchObject({ code: 0 });
    const script = 'for i in $(seq 1 15); do echo line-$i; done; sleep 60 & exec sleep 61';
    const r = await h.cli(['run', 'views', '--label', 'srv', '--', '/bin/sh', '-c', script]);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    const spec =
      'label = "pl"\nworkspace = "views"\n[[nodes]]\nlabel = "nap"\n' +
      'payload.Native = { exec = "/bin/sleep", argv = ["62"], envp = [] }\n';
    writeFileSync(join(h.dir, 'pl.toml'), spec);
    expect(await h.cli(['pipeline', 'run', join(h.dir, 'pl.toml')])).toMatchObject({ code: 0 });
  });
  afterAll(async () => {
    await h?.cli(['workspace', 'stop', 'views', '--grace', '0']);
    await h?.close();
  });

  it('ps lists commands and pipeline nodes with pid, state, RSS and uptime', async () => {
    const rows = await waitFor('both rows alive with RSS', async () => {
      const list = await h.json<PsRow[]>(['ps']);
      return list.length === 2 && list.every((r) => r.alive && (r.rssBytes ?? 0) > 0) && list;
    });
    const srv = rows.find((r) => r.label === 'srv');
    expect(srv).toMatchObject({ workspace: 'views', kind: 'command', state: 'running' });
    expect(srv?.uptimeMs).toEqual(expect.any(Number));
    expect(srv?.cpuPermille).toEqual(expect.any(Number));
    const nap = rows.find((r) => r.kind === 'pipeline-node');
    expect(nap).toMatchObject({ workspace: 'views', label: 'pl/nap', restarts: 0 });
    const text = await h.cli(['ps']);
    expect(text.stdout.split('\n')[0]).toMatch(/^WORKSPACE\s+LABEL\s+PID\s+STATE\s+CPU%\s+RSS/);
    expect(text.stdout).toMatch(new RegExp(`views\\s+srv\\s+${srv?.pid}\\s+running`));
  });

  it('status shows the process tree and the last 10 log lines', async () => {
    const r = await waitFor('the tree to show both sleeps', async () => {
      const out = await h.cli(['status', 'views', 'srv']);
      return (out.stdout.match(/sleep/g) ?? []).length >= 2 && out;
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('state:      running');
    expect(r.stdout).toMatch(/srv \(\w+\): running since \d{4}-/);
    const tail = r.stdout.split('last 10 log lines:\n')[1] ?? '';
    const expected = Array.from({ length: 10 }, (_, i) => `  line-${i + 6}`).join('\n');
    expect(tail).toBe(`${expected}\n`);
    const missing = await h.cli(['status', 'nope']);
    expect(missing.code).toBe(3);
  });

  (hasTmux() ? it : it.skip)(
    'top draws in a terminal, redraws in place and quits on q',
    async () => {
      const server = `shipote-top-${process.pid}`;
      const tmux = (...args: string[]) =>
        execFileSync('tmux', ['-L', server, ...args], { stdio: 'pipe' }).toString();
      const env = h.env();
      const vars = ['SHIPOTE_SOCKET', 'SHIPOTE_STATE', 'SHIPOTE_NO_AUTOSTART', 'NO_COLOR'];
      const assigns = vars.map((k) => `${k}='${env[k]}'`).join(' ');
      const argv = [process.execPath, ...cliCommand(), 'top', '--interval-ms', '200'];
      const shell = `${assigns} ${argv.join(' ')}; echo "top exited $?"; sleep 30`;
      tmux('new-session', '-d', '-s', 'top', '-x', '120', '-y', '20', shell);
      const pane = () => tmux('capture-pane', '-p', '-t', 'top');
      try {
        await waitFor('top to draw the srv row', () => /views\s+srv\s+\d+\s+running/.test(pane()));
        await h.cli(['run', 'views', '--label', 'late', '--', '/bin/sleep', '63']);
        const screen = await waitFor('top to redraw with the new command', () => {
          const text = pane();
          return /views\s+late\s+\d+\s+running/.test(text) && text;
        });
        expect(screen.split('\n').filter((l) => l.startsWith('shipote top'))).toHaveLength(1);
        tmux('send-keys', '-t', 'top', 'q');
        const after = await waitFor('top to quit', () => {
          const text = pane();
          return text.includes('top exited') && text;
        });
        expect(after).toContain('top exited 0');
        expect(after).not.toContain('WORKSPACE');
      } finally {
        tmux('kill-server');
      }
    },
  );
});
