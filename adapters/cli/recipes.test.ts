/**
 * The recipes as users type them, against a real daemon: tailing a flow socket found with
 * `flow list | grep shipote-flow`, the hint for a template variable left unset, and
 * `doctor` failing (exit 1) once it lists a problem.
 */

import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import { binPath, Harness, harnessSkipReason, repoRoot, waitFor } from '../../testing/harness.js';

const why = harnessSkipReason();
const maybe = why ? describe.skip : describe;
if (why) console.warn(`${import.meta.url.split('/').pop()}: skipped: ${why}`);
jest.setTimeout(60_000);

maybe(`recipes against a real daemon${why ? ` (skipped: ${why})` : ''}`, () => {
  let h: Harness;
  /** A bash with `shipote` on its PATH, stdout a pipe (not a terminal), as in a script. */
  const bash = (script: string) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      const env = h.env({ PATH: `${join(h.dir, 'bin')}:${process.env.PATH}` });
      execFile('bash', ['-c', script], { env, cwd: repoRoot }, (error, stdout, stderr) => {
        resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
      });
    });

  beforeAll(async () => {
    h = new Harness();
    await h.startDaemon();
    const wrapper = join(h.dir, 'bin', 'shipote');
    mkdirSync(join(h.dir, 'bin'), { recursive: true });
    writeFileSync(wrapper, `#!/bin/sh\nexec ${process.execPath} ${binPath} "$@"\n`);
    chmodSync(wrapper, 0o755);
    writeFileSync(join(h.dir, 'ws.toml'), 'label = "rec"\n');
    expect(await h.cli(['workspace', 'create', join(h.dir, 'ws.toml')])).toMatchObject({ code: 0 });
  });
  afterAll(async () => {
    await h?.cli(['workspace', 'stop', 'rec', '--grace', '0']);
    await h?.close();
  });

  const recipe = 'SOCK=$(shipote flow list | grep shipote-flow | xargs); shipote flow tail "$SOCK"';
  it(`runs as written: ${recipe}`, async () => {
    const producer = 'for i in $(seq 1 40); do echo tick-$i; sleep 0.1; done';
    const spec =
      'label = "ticks"\nworkspace = "rec"\n' +
      `[[nodes]]\nlabel = "p"\n` +
      `payload.Native = { exec = "/bin/sh", argv = ["-c", "${producer}"], envp = [] }\n` +
      '[[nodes]]\nlabel = "c"\npayload.Native = { exec = "/bin/cat", argv = [], envp = [] }\n' +
      '[[edges]]\nfrom = 0\nfrom_output = "stdout"\nto = 1\nto_input = "stdin"\n';
    writeFileSync(join(h.dir, 'ticks.toml'), spec);
    expect(await h.cli(['pipeline', 'run', join(h.dir, 'ticks.toml'), '--tap'])).toMatchObject({
      code: 0,
    });
    const list = await waitFor('one flow listed', async () => {
      const r = await bash('shipote flow list');
      return r.stdout.trim() !== '' && r;
    });
    expect(list.stdout).toMatch(/^\/\S+shipote-flow\S+\.sock\n$/);
    const tailed = await bash(recipe);
    expect(tailed).toMatchObject({ code: 0, stderr: '' });
    expect(tailed.stdout).toContain('tick-40\n');
  });

  it('names an unset template variable and --var', async () => {
    const r = await h.cli(['pipeline', 'run', join(repoRoot, 'examples', 'echo-cat.toml')]);
    const ws = '$' + '{WS}';
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(ws);
    expect(r.stderr).toContain(
      `hint: ${ws} is a template variable that was not set: pass --var WS=<value>\n`,
    );
  });

  it('doctor exits 0 when healthy, 1 once it lists a problem', async () => {
    expect(await h.cli(['doctor'])).toMatchObject({ code: 0 });
    await h.cli(['run', 'rec', '--label', 'flaky', '--restart-on-failure', '--', '/bin/false']);
    await waitFor('flaky to crash-loop', async () => {
      const r = await h.cli(['commands', 'rec']);
      return /flaky\s+-\s+crash-loop/.test(r.stdout);
    });
    const r = await h.cli(['doctor']);
    expect(r.stdout).toContain('problem: command');
    expect(r).toMatchObject({ code: 1, stderr: 'shipote: doctor: 1 problem found\n' });
    expect((await h.cli(['doctor', '--json'])).code).toBe(1);
  });
});
