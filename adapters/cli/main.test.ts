import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFakeSupervisor, type FakeSupervisor } from '../control/fake-supervisor.js';
import {
  ECHO_CAT_PIPELINE_TOML,
  STRICT_WORKSPACE_TOML,
  textLogSource,
} from '../control/fixtures.js';
import { type ControlServer, serveControl } from '../control/server.js';
import { coreSpecParsers } from '../control/specs.js';
import type { Io } from './context.js';
import { runCli } from './main.js';

let dir: string;
let socket: string;
let server: ControlServer;
let sup: FakeSupervisor;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'shipote-cli-'));
  socket = join(dir, 'shipote.sock');
  sup = createFakeSupervisor();
  server = await serveControl(
    {
      supervisor: sup,
      specs: coreSpecParsers,
      logs: textLogSource(new Map([['*', 'hello\n']]), new Set(), false),
      flows: () => [],
      caps: () => ({ version: 'v1', delegated: false, reasons: ['no delegation'] }),
      history: () => [{ wallMs: 0, ev: 'restart', fields: { ws: 'W', backoff_ms: 400 } }],
      statePath: join(dir, 'state.json'),
      socketPath: socket,
      restoreReport: () => null,
      nowMs: () => 0,
      startedAtMs: 0,
    },
    socket,
  );
});
afterEach(async () => {
  await server.close(); // Idempotent: a test may have closed it already.
  rmSync(dir, { recursive: true, force: true });
});

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Io = {
    out: (t) => {
      out += typeof t === 'string' ? t : Buffer.from(t).toString();
    },
    err: (t) => {
      err += t;
    },
    env: { SHIPOTE_SOCKET: socket, SHIPOTE_NO_AUTOSTART: '1', PATH: process.env.PATH },
    uid: 0,
    color: false,
  };
  const code = await runCli(argv, io);
  return { code, out, err };
}

function specFile(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('shipote CLI against a fake supervisor', () => {
  it('creates a workspace and prints its id, warnings on stderr', async () => {
    const r = await cli('workspace', 'create', specFile('ws.toml', STRICT_WORKSPACE_TOML));
    expect(r).toEqual({ code: 0, out: 'WS0001\n', err: 'warning: cgroup not delegated\n' });
  });

  it('prints {id, warnings} with --json', async () => {
    const r = await cli(
      'workspace',
      'create',
      specFile('ws.toml', STRICT_WORKSPACE_TOML),
      '--json',
    );
    expect(JSON.parse(r.out)).toEqual({ id: 'WS0001', warnings: ['cgroup not delegated'] });
  });

  it('lists every spec issue with the file name and exits 1', async () => {
    const file = specFile('bad.toml', 'label = ""\nttl = "soon"\n');
    const r = await cli('workspace', 'create', file);
    expect(r.code).toBe(1);
    expect(r.err).toBe(
      `shipote: invalid workspace spec in ${file}:\n` +
        '  label: expected a non-empty string, got "" (string) (line 1)\n' +
        '  ttl: expected a non-negative safe integer, got "soon" (string) (line 2)\n',
    );
  });

  it('says clearly when the spec file does not exist', async () => {
    const r = await cli('workspace', 'create', join(dir, 'missing.toml'));
    expect(r.code).toBe(1);
    expect(r.err).toBe(`shipote: cannot read spec ${join(dir, 'missing.toml')}: no such file\n`);
  });

  it.each([
    [['workspace', 'stop', 'foo'], 3, 'shipote: workspace "foo" not found\n'],
    [['commands', 'foo'], 3, 'shipote: workspace "foo" not found\n'],
    [['logs', 'foo', 'x'], 3, 'shipote: workspace "foo" not found\n'],
    [
      ['workspace', 'stop', 'foo', '--grace', 'soon'],
      2,
      'shipote: --grace expects a non-negative integer, got "soon"\n',
    ],
    [['pipeline', 'drop', 'nope'], 3, 'shipote: saved pipeline "nope" not found\n'],
  ])('exits for %j with %i and one clear line', async (argv, code, err) => {
    const r = await cli(...argv);
    expect(r.code).toBe(code);
    expect(r.err).toBe(err);
  });

  it('exits 4 on a conflict', async () => {
    const file = specFile('ws.toml', STRICT_WORKSPACE_TOML);
    await cli('workspace', 'create', file);
    const r = await cli('workspace', 'create', file);
    expect(r.code).toBe(4);
    expect(r.err).toBe('shipote: label "strict" already used\n');
  });

  it('exits 2 on a usage error', async () => {
    const r = await cli('workspace', 'frobnicate');
    expect(r.code).toBe(2);
    const missing = await cli('run');
    expect(missing.code).toBe(2);
  });

  it('exits 69 when no daemon answers and autostart is off', async () => {
    await server.close();
    const r = await cli('health');
    expect(r.code).toBe(69);
    expect(r.err).toMatch(/^shipote: daemon not reachable at .*shipote\.sock \(ENOENT\)/);
  });

  it('runs a command, resolving the exec from PATH, and lists it', async () => {
    await cli('workspace', 'create', specFile('ws.toml', STRICT_WORKSPACE_TOML));
    const run = await cli('run', 'strict', '--label', 'nap', '--json', '--', 'sleep', '10');
    expect(run.code).toBe(0);
    const view = JSON.parse(run.out);
    expect(view.spec.exec).toMatch(/\/sleep$/);
    expect(view.spec.argv).toEqual(['10']);
    const list = await cli('commands', 'strict');
    expect(list.out).toMatch(/^ID\s+LABEL\s+PID\s+STATE\s+EXIT\s+RESTARTS\s+LOGS\n/);
    expect(list.out).toContain('nap');
  });

  it('reports a spawn failure with the exec message and exit 1', async () => {
    await cli('workspace', 'create', specFile('ws.toml', STRICT_WORKSPACE_TOML));
    const r = await cli('run', 'strict', '--', '/nope');
    expect(r).toMatchObject({ code: 1, err: 'shipote: exec /nope: No such file or directory\n' });
  });

  it('prints logs bytes as they are', async () => {
    await cli('workspace', 'create', specFile('ws.toml', STRICT_WORKSPACE_TOML));
    await cli('run', 'strict', '--label', 'hi', '--', '/bin/echo', 'hello');
    const r = await cli('logs', 'strict', 'hi', '--stdout');
    expect(r).toEqual({ code: 0, out: 'hello\n', err: '' });
  });

  it('prints verdict lines named after the edge with --tap', async () => {
    await cli('workspace', 'create', specFile('ws.toml', STRICT_WORKSPACE_TOML));
    const pipeline = specFile('p.toml', ECHO_CAT_PIPELINE_TOML);
    const r = await cli('pipeline', 'run', pipeline, '--tap', '--var', 'WS=strict');
    expect(r.code).toBe(0);
    expect(r.out).toContain('producer.stdout->consumer ty=json mime=application/json conf=0.95\n');
  });

  it('prints events as logfmt lines', async () => {
    const r = await cli('events');
    expect(r.out).toBe('ts=1970-01-01T00:00:00.000Z ev=restart ws=W backoff_ms=400\n');
  });

  it('shows stats with sparklines', async () => {
    await cli('workspace', 'create', specFile('ws.toml', STRICT_WORKSPACE_TOML));
    const r = await cli('workspace', 'stats', 'strict', '--history');
    expect(r.out).toContain('rss  ▁▃▆█  1.00 MiB … 4.00 MiB\n');
    expect(r.out).toContain('cpu  ▁▃▆█  10.0% … 40.0%\n');
  });

  it('shows quota breaches in the contract wording', async () => {
    await cli('workspace', 'create', specFile('ws.toml', STRICT_WORKSPACE_TOML));
    const r = await cli('workspace', 'quota', 'strict');
    expect(r.out).toContain('breach: memory: 12.00 MiB > 10.00 MiB limit\n');
    expect(r.out).toContain('breach: nproc: 3 alive > 2 limit\n');
  });
});
