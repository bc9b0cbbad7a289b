/**
 * `shipote apply` and the per-command controls against a real daemon (cgroups off): 20
 * services (always, on-failure, one notify-ready that three others depend on), a second
 * apply that touches no process, a dry run, a bad file refused whole, pipelines by label,
 * and the daemon's kill -9 with the services back under the same ids.
 */

import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import type { CommandView, PipelineView } from '../../core/engine/api.js';
import { Harness, harnessSkipReason, pidAlive, repoRoot, waitFor } from '../../testing/harness.js';

const notifyTool = ['/usr/bin/systemd-notify', '/bin/systemd-notify'].find(existsSync);
const why = harnessSkipReason() ?? (notifyTool ? null : 'systemd-notify is not installed');
const maybe = why ? describe.skip : describe;
if (why) console.warn(`${import.meta.url.split('/').pop()}: skipped: ${why}`);
jest.setTimeout(90_000);

function service(label: string, lines: string[]): string {
  return ['[[services]]', `label = "${label}"`, 'workspace = "svc"', ...lines, ''].join('\n');
}

/** 20 services: db (notify-ready after a marker file), 3 that need db, 8 always, 8 on-failure. */
function applyFile(dir: string, sleepArg = '100000'): string {
  const marker = join(dir, 'db-ready');
  const parts = ['[[workspaces]]\nlabel = "svc"\n'];
  const dbScript = `sleep 0.3; touch ${marker}; ${notifyTool} --ready; exec sleep 100000`;
  parts.push(
    service('db', [
      'exec = "/bin/sh"',
      `argv = ["-c", "${dbScript}"]`,
      'restart = "always"',
      'ready = "notify"',
      'ready_timeout_ms = 20000',
    ]),
  );
  // Started before db is ready, one of these exits 7: a restart shows in its count.
  const needsDb = `test -e ${marker} || exit 7; exec sleep 100000`;
  for (let i = 1; i <= 3; i += 1) {
    const lines = [
      'exec = "/bin/sh"',
      `argv = ["-c", "${needsDb}"]`,
      'restart = "on-failure"',
      'depends_on = ["db"]',
    ];
    parts.push(service(`needs-db-${i}`, lines));
  }
  for (let i = 1; i <= 16; i += 1) {
    const restart = i <= 8 ? 'always' : 'on-failure';
    const lines = ['exec = "sleep"', `argv = ["${sleepArg}"]`, `restart = "${restart}"`];
    parts.push(service(`s${i}`, lines));
  }
  return parts.join('\n');
}

function pidsByLabel(list: CommandView[]): Map<string, number | null> {
  return new Map(list.map((c) => [c.label, c.pid]));
}

maybe(`shipote apply against a real daemon${why ? ` (skipped: ${why})` : ''}`, () => {
  let h: Harness;
  let file: string;
  beforeAll(async () => {
    h = new Harness();
    await h.startDaemon();
    file = join(h.dir, 'services.toml');
    writeFileSync(file, applyFile(h.dir));
  });
  afterAll(async () => h?.close());

  const commands = () => h.json<CommandView[]>(['commands', 'svc']);
  const allRunning = () =>
    waitFor('20 services running', async () => {
      const list = await commands();
      const up = list.filter((c) => c.state === 'running' && c.alive);
      return up.length === 20 ? list : null;
    });

  it('a dry run prints the plan and starts nothing', async () => {
    const r = await h.cli(['apply', file, '--dry-run']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe('+ workspace svc');
    expect(lines[1]).toBe('+ service svc/db');
    expect(lines.at(-1)).toBe('dry run: 21 actions planned, 0 unchanged; nothing applied');
    expect((await h.json<unknown[]>(['workspace', 'list'])).length).toBe(0);
  });

  it('applies 20 services, each dependency ready before what needs it', async () => {
    const r = await h.cli(['apply', file]);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout.trim().split('\n').at(-1)).toBe('applied 21 actions, 0 unchanged');
    const list = await allRunning();
    const byLabel = new Map(list.map((c) => [c.label, c]));
    for (let i = 1; i <= 3; i += 1) {
      expect(byLabel.get(`needs-db-${i}`)).toMatchObject({ restarts: 0, exit: null });
    }
    expect(byLabel.get('db')?.spec.ready).toBe('notify');
  });

  it('a second apply prints that nothing changed and touches no process', async () => {
    const before = pidsByLabel(await commands());
    const r = await h.cli(['apply', file]);
    expect(r).toEqual({ code: 0, stdout: 'nothing changed (21 unchanged)\n', stderr: '' });
    const after = await commands();
    expect(pidsByLabel(after)).toEqual(before);
    expect(after.every((c) => c.restarts === 0)).toBe(true);
  });

  it('refuses a bad file whole, with every issue and its line, and changes nothing', async () => {
    const before = pidsByLabel(await commands());
    const bad = join(h.dir, 'bad.toml');
    const extra = ['exec = "/nonexistent/x"', 'restart = "sometimes"', 'depends_on = ["ghost"]'];
    const text = `${applyFile(h.dir, '5')}\n${service('x', extra)}`;
    const lineOf = (needle: string) => text.split('\n').findIndex((l) => l.includes(needle)) + 1;
    writeFileSync(bad, text);
    const r = await h.cli(['apply', bad]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    const enumText = 'expected one of no, on-failure, always, got "sometimes" (string)';
    const ghost = 'no service "ghost" in workspace "svc" of this file';
    expect(r.stderr).toBe(
      [
        `shipote: invalid apply file (nothing applied) in ${bad}:`,
        `  services[20].restart: ${enumText} (line ${lineOf('sometimes')})`,
        `  services[20].depends_on[0]: ${ghost} (line ${lineOf('ghost')})`,
        '',
      ].join('\n'),
    );
    expect(pidsByLabel(await commands())).toEqual(before);
  });

  it('pipelines are addressed by label; an ambiguous label lists the ids', async () => {
    const pl = join(h.dir, 'pl.toml');
    const node = 'payload.Native = { exec = "/bin/sleep", argv = ["100"], envp = [] }';
    writeFileSync(pl, `label = "twin"\nworkspace = "svc"\n[[nodes]]\nlabel = "n"\n${node}\n`);
    const a = await h.json<PipelineView>(['pipeline', 'run', pl]);
    const got = await h.cli(['pipeline', 'stop', 'twin', '--grace', '0']);
    expect(got).toMatchObject({ code: 0, stdout: 'stopped twin: 1 process reaped\n' });
    const b = await h.json<PipelineView>(['pipeline', 'run', pl]);
    const c = await h.json<PipelineView>(['pipeline', 'run', pl]);
    const r = await h.cli(['pipeline', 'stop', 'twin']);
    expect(r.code).toBe(4);
    const ids = `${b.id} (running), ${c.id} (running)`;
    expect(r.stderr).toBe(`shipote: pipeline label "twin" is ambiguous: ${ids}; use an id\n`);
    for (const id of [b.id, c.id]) expect((await h.cli(['pipeline', 'stop', id])).code).toBe(0);
    expect(a.id).not.toBe(b.id);
  });

  it('after kill -9 of the daemon the same ids run again with new pids, in order', async () => {
    const before = await commands();
    const oldPids = before.map((c) => c.pid).filter((p): p is number => p !== null);
    await h.killDaemon('SIGKILL');
    await waitFor('the old incarnation to be gone', () => {
      return !oldPids.some(pidAlive);
    });
    execFileSync('rm', ['-f', join(h.dir, 'db-ready')]);
    await h.startDaemon();
    const after = await allRunning();
    expect(after.map((c) => c.id).sort()).toEqual(before.map((c) => c.id).sort());
    for (const c of after) expect(oldPids).not.toContain(c.pid);
    const byLabel = new Map(after.map((c) => [c.label, c]));
    for (let i = 1; i <= 3; i += 1) {
      expect(byLabel.get(`needs-db-${i}`)).toMatchObject({ restarts: 0, exit: null });
    }
    const r = await h.cli(['apply', file]);
    expect(r).toEqual({ code: 0, stdout: 'nothing changed (21 unchanged)\n', stderr: '' });
  });
});

maybe(`per-command control against a real daemon${why ? ` (skipped: ${why})` : ''}`, () => {
  let h: Harness;
  beforeAll(async () => {
    h = new Harness();
    await h.startDaemon();
    writeFileSync(join(h.dir, 'ws.toml'), 'label = "pc"\n');
    expect((await h.cli(['workspace', 'create', join(h.dir, 'ws.toml')])).code).toBe(0);
  });
  afterAll(async () => h?.close());

  const command = async (label: string) =>
    (await h.json<CommandView[]>(['commands', 'pc'])).find((c) => c.label === label);

  it('--version prints the package version', async () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
      version: string;
    };
    expect(await h.cli(['--version'])).toEqual({ code: 0, stdout: `${pkg.version}\n`, stderr: '' });
  });

  it('stop ends a service for good; restart prints the new pid; rm forgets it', async () => {
    const run = await h.json<CommandView>([
      'run',
      'pc',
      '--label',
      'svc',
      '--restart-on-failure',
      '--',
      'sleep',
      '1000',
    ]);
    const oldPid = run.pid as number;
    const stop = await h.cli(['stop', 'pc', 'svc', '--grace', '500']);
    expect(stop).toEqual({ code: 0, stdout: 'stopped svc: 1 process reaped\n', stderr: '' });
    expect(pidAlive(oldPid)).toBe(false);
    expect(await command('svc')).toMatchObject({ state: 'exited', alive: false, pid: null });
    const restart = await h.cli(['restart', 'pc', 'svc']);
    expect(restart.code).toBe(0);
    const now = await command('svc');
    expect(now).toMatchObject({ id: run.id, alive: true });
    expect(now?.pid).not.toBe(oldPid);
    expect(restart.stdout).toBe(`restarted svc (${run.id}) pid ${now?.pid}\n`);
    const rm = await h.cli(['rm', 'pc', 'svc']);
    expect(rm).toEqual({ code: 0, stdout: `removed svc (${run.id})\n`, stderr: '' });
    expect(await command('svc')).toBeUndefined();
    expect(pidAlive(now?.pid as number)).toBe(false);
    const again = await h.cli(['rm', 'pc', 'svc']);
    expect(again.code).toBe(3);
  });

  it('pipeline restart by label runs it again with new pids', async () => {
    const pl = join(h.dir, 'pl.toml');
    const node = 'payload.Native = { exec = "/bin/sleep", argv = ["1000"], envp = [] }';
    writeFileSync(pl, `label = "again"\nworkspace = "pc"\n[[nodes]]\nlabel = "n"\n${node}\n`);
    const first = await h.json<PipelineView>(['pipeline', 'run', pl]);
    const oldPid = first.nodes[0]?.pid as number;
    const r = await h.cli(['pipeline', 'restart', 'again']);
    expect(r.code).toBe(0);
    const list = await h.json<{ running: PipelineView[] }>(['pipeline', 'list']);
    const now = list.running.find((p) => p.label === 'again' && p.state === 'running');
    const newPid = now?.nodes[0]?.pid;
    expect(newPid).toEqual(expect.any(Number));
    expect(newPid).not.toBe(oldPid);
    expect(r.stdout).toBe(`restarted again (${now?.id}) n=${newPid}\n`);
    await waitFor('the old node to be gone', () => !pidAlive(oldPid));
  });

  it('applies [[workers]]: created once, unchanged on a second apply', async () => {
    const file = join(h.dir, 'workers.toml');
    const worker = 'name = "mailer"\nworkspace = "pc"\nexec = "/bin/cat"\n';
    writeFileSync(file, `[[workers]]\n${worker}`);
    const first = await h.cli(['apply', file]);
    expect(first.code).toBe(0);
    const workers = await h.json<{ name: string; exec: string }[]>(['worker', 'ls']);
    expect(workers.map((w) => [w.name, w.exec])).toEqual([['mailer', '/bin/cat']]);
    const again = await h.cli(['apply', file]);
    expect(again).toEqual({ code: 0, stdout: 'nothing changed (1 unchanged)\n', stderr: '' });
  });
});
