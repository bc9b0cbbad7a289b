/**
 * The CLI against a real daemon on a temp socket and state dir: create → run → logs →
 * stop, pipelines with fan-out and fan-in producing exactly what a shell pipeline
 * produces, and the exact error lines of bad specs and bad requests.
 */

import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import type { CommandView, PipelineView } from '../../core/engine/api.js';
import { Harness, harnessSkipReason, waitFor } from '../../testing/harness.js';

const why = harnessSkipReason();
const maybe = why ? describe.skip : describe;
if (why) console.warn(`${import.meta.url.split('/').pop()}: skipped: ${why}`);
jest.setTimeout(60_000);

function node(label: string, exec: string, argv: string[]): string {
  const payload = `{ exec = "${exec}", argv = ${JSON.stringify(argv)}, envp = [] }`;
  return `[[nodes]]\nlabel = "${label}"\npayload.Native = ${payload}\n`;
}

function edge(from: number, to: number): string {
  return `[[edges]]\nfrom = ${from}\nfrom_output = "stdout"\nto = ${to}\nto_input = "stdin"\n`;
}

maybe(`shipote CLI against a real daemon${why ? ` (skipped: ${why})` : ''}`, () => {
  let h: Harness;
  beforeAll(async () => {
    h = new Harness();
    await h.startDaemon();
    writeFileSync(join(h.dir, 'ws.toml'), 'label = "it"\n');
    const r = await h.cli(['workspace', 'create', join(h.dir, 'ws.toml')]);
    expect(r).toMatchObject({ code: 0, stderr: '' });
  });
  afterAll(async () => h?.close());

  const pipelineDone = (id: string) =>
    waitFor(`pipeline ${id} to finish`, async () => {
      const p = await h
        .json<PipelineView>(['pipeline', 'list'])
        .then((l) =>
          (l as unknown as { running: PipelineView[] }).running.find((x) => x.id === id),
        );
      return p && p.state !== 'running' ? p : null;
    });

  it('creates, runs, shows logs and stops', async () => {
    const run = await h.json<CommandView>(['run', 'it', '--label', 'hi', '--', 'echo', 'hello']);
    expect(run).toMatchObject({ label: 'hi', alive: true });
    await waitFor('hi to exit', async () => {
      const list = await h.json<CommandView[]>(['commands', 'it']);
      return list.find((c) => c.label === 'hi' && c.state === 'exited');
    });
    const logs = await h.cli(['logs', 'it', 'hi', '--stdout']);
    expect(logs).toEqual({ code: 0, stdout: 'hello\n', stderr: '' });
    const sleeper = await h.json<CommandView>(['run', 'it', '--label', 'nap', '--', 'sleep', '30']);
    expect(sleeper.pid).toEqual(expect.any(Number));
    const stop = await h.cli(['workspace', 'stop', 'it', '--grace', '0']);
    expect(stop.code).toBe(0);
    expect(stop.stdout).toMatch(/^stopped it: \d+ process(es)? reaped\n$/);
    const again = await h.cli(['workspace', 'create', join(h.dir, 'ws.toml'), '--json']);
    if (again.code === 4) return; // a stopped workspace may keep its label: that is a conflict
    expect(again.code).toBe(0);
  });

  it('fans out: each consumer gets exactly the bytes `seq 1 20000` prints', async () => {
    await h.cli(['workspace', 'create', join(h.dir, 'ws.toml')]);
    const left = join(h.dir, 'left.out');
    const right = join(h.dir, 'right.out');
    const spec =
      `label = "fan-out"\nworkspace = "it"\n` +
      node('producer', '/usr/bin/seq', ['1', '20000']) +
      node('left', '/bin/sh', ['-c', `cat > ${left}`]) +
      node('right', '/bin/sh', ['-c', `cat > ${right}`]) +
      edge(0, 1) +
      edge(0, 2);
    writeFileSync(join(h.dir, 'fan-out.toml'), spec);
    const run = await h.json<PipelineView>(['pipeline', 'run', join(h.dir, 'fan-out.toml')]);
    const done = await pipelineDone(run.id);
    expect(done.state).toBe('done');
    const expected = execFileSync('sh', ['-c', 'seq 1 20000']).toString();
    expect(readFileSync(left, 'utf8')).toBe(expected);
    expect(readFileSync(right, 'utf8')).toBe(expected);
  });

  it('fans in: the consumer gets every line of both producers, like a shell group', async () => {
    const out = join(h.dir, 'fan-in.out');
    const a = 'for i in $(seq 1 500); do echo a-$i; done';
    const b = 'for i in $(seq 1 500); do echo b-$i; done';
    const spec =
      `label = "fan-in"\nworkspace = "it"\n` +
      node('a', '/bin/sh', ['-c', a]) +
      node('b', '/bin/sh', ['-c', b]) +
      node('sink', '/bin/sh', ['-c', `sort > ${out}`]) +
      edge(0, 2) +
      edge(1, 2);
    writeFileSync(join(h.dir, 'fan-in.toml'), spec);
    const run = await h.json<PipelineView>(['pipeline', 'run', join(h.dir, 'fan-in.toml')]);
    await pipelineDone(run.id);
    const expected = execFileSync('sh', ['-c', `{ ${a}; ${b}; } | sort`]).toString();
    expect(readFileSync(out, 'utf8')).toBe(expected);
  });

  it('prints the tap verdict of each edge', async () => {
    const spec =
      `label = "echo-cat"\nworkspace = "\${WS}"\n` +
      `discern = { sample_bytes = 4096, enrich_producer = true }\n` +
      node('producer', '/bin/echo', ['{"hello": 1}']) +
      node('consumer', '/bin/cat', []) +
      edge(0, 1);
    writeFileSync(join(h.dir, 'echo-cat.toml'), spec);
    const r = await h.cli([
      'pipeline',
      'run',
      join(h.dir, 'echo-cat.toml'),
      '--tap',
      '--var',
      'WS=it',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      'producer.stdout->consumer ty=json mime=application/json conf=0.95\n',
    );
    const id = r.stdout.split(' ')[0] ?? '';
    await pipelineDone(id);
    const logs = await h.cli(['logs', 'it', 'echo-cat.consumer', '--stdout']);
    expect(logs).toEqual({ code: 0, stdout: '{"hello": 1}\n', stderr: '' });
  });

  it.each([
    [
      'a spec with an empty label',
      1,
      ['workspace', 'create', '<dir>/bad.toml'],
      'label = ""\n',
      'shipote: invalid workspace spec in <dir>/bad.toml:\n' +
        '  label: expected a non-empty string, got "" (string) (line 1)\n',
    ],
    [
      'an exec that does not exist',
      1,
      ['run', 'it', '--', '/nonexistent/x'],
      '',
      'shipote: exec /nonexistent/x: No such file or directory (execve)\n',
    ],
    ['an unknown workspace', 3, ['commands', 'nope'], '', 'shipote: no workspace "nope"\n'],
    ['an unknown pipeline', 3, ['pipeline', 'stop', 'nope'], '', 'shipote: no pipeline "nope"\n'],
    [
      'a malformed --tail',
      2,
      ['logs', 'it', 'x', '--tail', 'lots'],
      '',
      'shipote: --tail expects a non-negative integer, got "lots"\n',
    ],
    [
      'a malformed --var',
      2,
      ['pipeline', 'run', '<dir>/bad.toml', '--var', 'novalue'],
      'label = "x"\n',
      'shipote: --var expects NAME=value, got "novalue"\n',
    ],
  ])('reports %s with exit %i', async (_what, code, argv, file, stderr) => {
    await h.cli(['workspace', 'create', join(h.dir, 'ws.toml')]);
    writeFileSync(join(h.dir, 'bad.toml'), file);
    const r = await h.cli(argv.map((a) => a.replace('<dir>', h.dir)));
    expect({ code: r.code, stderr: r.stderr }).toEqual({
      code,
      stderr: stderr.replaceAll('<dir>', h.dir),
    });
  });
});
