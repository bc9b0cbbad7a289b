import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type SimEngine, simEngine } from '../../testing/engine.js';
import {
  ECHO_CAT_PIPELINE_TOML,
  STRICT_WORKSPACE_TOML,
  textLogSource,
} from '../../testing/fixtures/control.js';
import { type ControlServer, serveControl } from '../control/server.js';
import { coreSpecParsers } from '../control/specs.js';
import type { Io } from './context.js';
import { runCli } from './main.js';

let dir: string;
let socket: string;
let server: ControlServer;
let engine: SimEngine;
let stopPump: () => void;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'shipote-cli-'));
  socket = join(dir, 'shipote.sock');
  engine = simEngine();
  stopPump = engine.pump();
  server = await serveControl(
    {
      supervisor: engine.sup,
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
  stopPump();
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

/** STRICT_WORKSPACE_TOML with a cgroup path, on a host without a writable cgroup tree. */
const CGROUP_WORKSPACE_TOML = `${STRICT_WORKSPACE_TOML}[soma.cgroup]\npath = "shipote/strict"\n`;

async function pollUntil(check: () => boolean, deadlineMs = 5000): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (!check()) {
    if (Date.now() > until) throw new Error('condition not met before the deadline');
    await new Promise((r) => setTimeout(r, 10));
  }
}

function specFile(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('shipote CLI against the engine over the simulator', () => {
  it('creates a workspace and prints its id, warnings on stderr', async () => {
    const r = await cli('workspace', 'create', specFile('ws.toml', CGROUP_WORKSPACE_TOML));
    const [ws] = engine.sup.listWorkspaces();
    expect(r).toEqual({ code: 0, out: `${ws?.id}\n`, err: `warning: ${ws?.warnings[0]}\n` });
    expect(ws?.warnings).toHaveLength(1);
  });

  it('prints {id, warnings} with --json', async () => {
    const r = await cli(
      'workspace',
      'create',
      specFile('ws.toml', CGROUP_WORKSPACE_TOML),
      '--json',
    );
    const [ws] = engine.sup.listWorkspaces();
    expect(JSON.parse(r.out)).toEqual({ id: ws?.id, warnings: ws?.warnings });
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
    [['workspace', 'stop', 'foo'], 3, 'shipote: no workspace "foo"\n'],
    [['commands', 'foo'], 3, 'shipote: no workspace "foo"\n'],
    [['logs', 'foo', 'x'], 3, 'shipote: no workspace "foo"\n'],
    [
      ['workspace', 'stop', 'foo', '--grace', 'soon'],
      2,
      'shipote: --grace expects a non-negative integer, got "soon"\n',
    ],
    [['pipeline', 'drop', 'nope'], 3, 'shipote: no saved pipeline "nope"\n'],
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
    expect(r.err).toBe('shipote: workspace "strict" already exists\n');
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
    const pending = cli('pipeline', 'run', pipeline, '--tap', '--var', 'WS=strict');
    // The CLI polls for the verdict; the tap's first sample comes 1 ms of virtual time later.
    await pollUntil(() => engine.sup.listPipelines().length === 1);
    engine.advance(10);
    const r = await pending;
    expect(r.code).toBe(0);
    const [verdict] = engine.sup.listPipelines()[0]?.verdicts ?? [];
    expect(verdict).toMatchObject({ ty: 'ndjson' });
    const conf = ((verdict?.confPermille ?? 0) / 1000).toFixed(2);
    const line = `producer.stdout->consumer ty=ndjson mime=${verdict?.mime} conf=${conf}\n`;
    expect(r.out).toContain(line);
  });

  it('prints events as logfmt lines', async () => {
    const r = await cli('events');
    expect(r.out).toBe('ts=1970-01-01T00:00:00.000Z ev=restart ws=W backoff_ms=400\n');
  });

  it('shows stats with sparklines', async () => {
    await cli('workspace', 'create', specFile('ws.toml', STRICT_WORKSPACE_TOML));
    // One more 1 MiB process (at 10 % of a core) each second: 1, 2, 3, 4 MiB sampled.
    for (let i = 0; i < 4; i++) {
      await cli('run', 'strict', '--', '/bin/sleep', '100');
      engine.advance(1000);
    }
    const r = await cli('workspace', 'stats', 'strict', '--history');
    expect(r.out).toContain('rss  ▁▃▆█  1.00 MiB … 4.00 MiB\n');
    // CPU is a rate: the first sample has no earlier one to measure against.
    expect(r.out).toContain('cpu  ▁▅▆█  0.0% … 40.0%\n');
  });

  it('shows quota breaches in the contract wording', async () => {
    const toml = STRICT_WORKSPACE_TOML.replace('nproc = 2', 'nproc = 2\nmem_bytes = 2097152');
    await cli('workspace', 'create', specFile('ws.toml', toml));
    for (let i = 0; i < 3; i++) await cli('run', 'strict', '--', '/bin/sleep', '100');
    engine.advance(1000); // one quota tick: three 1 MiB processes
    const r = await cli('workspace', 'quota', 'strict');
    expect(r.out).toContain('breach: memory: 3.00 MiB > 2.00 MiB limit\n');
    expect(r.out).toContain('breach: nproc: 3 alive > 2 limit\n');
  });
});
