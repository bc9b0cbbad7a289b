import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Supervisor } from '../../core/engine/api.js';
import { workspaceSpec } from '../../core/manifest/defaults.js';
import type { LifecycleEvent } from '../../core/ports.js';
import { type SimEngine, simEngine } from '../../testing/engine.js';
import {
  controlDeps,
  ECHO_CAT_PIPELINE_TOML,
  STRICT_WORKSPACE_TOML,
  textLogSource,
} from '../../testing/fixtures/control.js';
import { requestJson, requestStream, UnreachableError } from './client.js';
import { type ControlServer, serveControl } from './server.js';
import type { ControlDeps } from './types.js';

interface FakeLogs {
  bytes: Map<string, string>;
  listeners: Set<() => void>;
}

function fakeDeps(sup: Supervisor, logs: FakeLogs, history: LifecycleEvent[]): ControlDeps {
  return controlDeps(sup, {
    logs: textLogSource(logs.bytes, logs.listeners),
    flows: () => [
      { socketPath: '/t/0', key: 'PL1', edgeIndex: 0, bytesTotal: 42, bytesPerSec: 7, readers: 1 },
    ],
    caps: () => ({ version: 'v1', delegated: false }),
    history: (limit) => (limit === undefined ? history : history.slice(-limit)),
  });
}

let dir: string;
let socket: string;
let server: ControlServer;
let engine: SimEngine;
let stopPump: () => void;
let logs: FakeLogs;
const history: LifecycleEvent[] = [
  { wallMs: 1, ev: 'crash-loop', fields: { ws: 'W', cmd: 'C' } },
  { wallMs: 2, ev: 'restart', fields: { ws: 'W', cmd: 'C', backoff_ms: 400 } },
];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'shipote-ctl-'));
  socket = join(dir, 'run', 'shipote.sock');
  engine = simEngine();
  stopPump = engine.pump();
  logs = { bytes: new Map(), listeners: new Set() };
  server = await serveControl(fakeDeps(engine.sup, logs, history), socket);
});
afterEach(async () => {
  stopPump();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

const call = <T = Record<string, unknown>>(method: string, path: string, body?: unknown) =>
  requestJson<T>(socket, method, path, body);

describe('control server', () => {
  it('serves on a 0600 socket inside a 0700 directory', () => {
    expect(statSync(socket).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'run')).mode & 0o777).toBe(0o700);
  });

  it('sends the HTTP Date header (made from the UTC fields, not by Node)', async () => {
    const beforeMs = Math.floor(Date.now() / 1000) * 1000;
    const date = await new Promise<string | undefined>((resolve, reject) => {
      get({ socketPath: socket, path: '/v1/health' }, (res) => {
        res.resume();
        resolve(res.headers.date);
      }).on('error', reject);
    });
    expect(date).toMatch(/^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d [A-Z][a-z]{2} \d{4} [\d:]{8} GMT$/);
    const sentMs = Date.parse(date ?? '');
    expect(sentMs).toBeGreaterThanOrEqual(beforeMs);
    expect(sentMs).toBeLessThanOrEqual(Date.now());
  });

  it('lets the daemon deliver what its children did before each request and reply', async () => {
    const order: string[] = [];
    const deps = fakeDeps(engine.sup, logs, history);
    const before = join(dir, 'before.sock');
    const probe = await serveControl(
      {
        ...deps,
        deliverReady: () => order.push('deliver'),
        caps: () => {
          order.push('handle');
          return deps.caps();
        },
      },
      before,
    );
    try {
      await requestJson(before, 'GET', '/v1/caps');
      await requestJson(before, 'GET', '/v1/caps');
    } finally {
      await probe.close();
    }
    expect(order).toEqual(['deliver', 'handle', 'deliver', 'deliver', 'handle', 'deliver']);
  });

  it('refuses to start when another daemon answers on the socket', async () => {
    await expect(serveControl(fakeDeps(engine.sup, logs, []), socket)).rejects.toThrow(
      `another daemon is already serving ${socket}`,
    );
  });

  it('creates a workspace from TOML and finds it by label', async () => {
    const created = await call('POST', '/v1/workspaces', { toml: STRICT_WORKSPACE_TOML });
    expect(created.status).toBe(200);
    expect(created.body.id).toEqual(expect.any(String));
    const got = await call('GET', '/v1/workspaces/strict');
    expect(got.body).toMatchObject({ id: created.body.id, label: 'strict' });
  });

  it('creates a workspace from a JSON spec object', async () => {
    const created = await call('POST', '/v1/workspaces', { spec: { label: 'json-ws' } });
    expect(created.status).toBe(200);
  });

  it('lists every spec issue with a 400 and names the first field', async () => {
    const reply = await call<{ error: Record<string, unknown> }>('POST', '/v1/workspaces', {
      toml: 'label = ""\nttl = "soon"\n',
    });
    expect(reply.status).toBe(400);
    expect(reply.body.error).toMatchObject({ code: 'invalid', field: 'label' });
    expect(reply.body.error.issues).toHaveLength(2);
    expect(reply.body.error.message).toMatch(/^invalid workspace spec:\nlabel: /);
  });

  it.each([
    ['GET', '/v1/workspaces/nope', 404, 'not_found', 'no workspace "nope"'],
    ['GET', '/v1/nothing', 404, 'not_found', 'no route GET /v1/nothing'],
    ['DELETE', '/v1/workspaces', 405, 'invalid', 'DELETE /v1/workspaces: method not allowed'],
  ])('answers %s %s with %i %s', async (method, path, status, code, message) => {
    const reply = await call<{ error: { code: string; message: string } }>(method, path);
    expect(reply.status).toBe(status);
    expect(reply.body.error.code).toBe(code);
    expect(reply.body.error.message).toContain(message);
  });

  it('maps a duplicate label to 409 conflict', async () => {
    await call('POST', '/v1/workspaces', { toml: STRICT_WORKSPACE_TOML });
    const again = await call<{ error: { code: string } }>('POST', '/v1/workspaces', {
      toml: STRICT_WORKSPACE_TOML,
    });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('conflict');
  });

  it('rejects a body that is not JSON, naming the problem', async () => {
    const { request } = await import('node:http');
    const status = await new Promise<number>((resolve) => {
      const req = request({ socketPath: socket, method: 'POST', path: '/v1/workspaces' }, (res) =>
        resolve(res.statusCode ?? 0),
      );
      req.end('{not json');
    });
    expect(status).toBe(400);
  });

  it.each([
    [{ graceMs: -1 }, 'graceMs: expected a non-negative integer'],
    [{ graceMs: 'x' }, 'graceMs: expected a non-negative integer'],
  ])('rejects stop with %j', async (body, message) => {
    await call('POST', '/v1/workspaces', { toml: STRICT_WORKSPACE_TOML });
    const reply = await call<{ error: { message: string; field: string } }>(
      'POST',
      '/v1/workspaces/strict/stop',
      body,
    );
    expect(reply.status).toBe(400);
    expect(reply.body.error).toMatchObject({ message, field: 'graceMs' });
  });

  it('runs a command, maps spawn failure to 500 with the exec message', async () => {
    await call('POST', '/v1/workspaces', { toml: STRICT_WORKSPACE_TOML });
    const ok = await call('POST', '/v1/workspaces/strict/commands', {
      exec: '/bin/sleep',
      argv: ['10'],
    });
    expect(ok.body).toMatchObject({ alive: true, state: 'running' });
    const bad = await call<{ error: { code: string; message: string } }>(
      'POST',
      '/v1/workspaces/strict/commands',
      { exec: '/nope' },
    );
    expect(bad.status).toBe(500);
    expect(bad.body.error).toMatchObject({
      code: 'spawn_failed',
      message: 'exec /nope: No such file or directory',
    });
  });

  it('rejects a command with an unknown field', async () => {
    await call('POST', '/v1/workspaces', { toml: STRICT_WORKSPACE_TOML });
    const bad = await call<{ error: { field: string } }>('POST', '/v1/workspaces/strict/commands', {
      exec: '/bin/true',
      restart: true,
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.field).toBe('restart');
  });

  it('returns logs with which and tail, and rejects a bad which', async () => {
    await call('POST', '/v1/workspaces', { toml: STRICT_WORKSPACE_TOML });
    const run = await call('POST', '/v1/workspaces/strict/commands', { exec: '/bin/echo' });
    logs.bytes.set(String(run.body.id), 'hello world');
    const base = `/v1/workspaces/strict/commands/${run.body.id}/logs`;
    const tail = await call('GET', `${base}?which=stdout&tail=5`);
    expect(tail.body).toBe('world');
    const bad = await call<{ error: { field: string } }>('GET', `${base}?which=all`);
    expect(bad.status).toBe(400);
    expect(bad.body.error.field).toBe('which');
  });

  it('follows logs until the command ends', async () => {
    await call('POST', '/v1/workspaces', { toml: STRICT_WORKSPACE_TOML });
    const run = await call('POST', '/v1/workspaces/strict/commands', {
      exec: '/bin/sleep',
      argv: ['10'],
    });
    const id = String(run.body.id);
    const chunks: string[] = [];
    const done = requestStream(
      socket,
      `/v1/workspaces/strict/commands/${id}/logs?which=stdout&follow=1`,
      (c) => {
        chunks.push(c.toString());
        if (chunks.length === 1) {
          logs.bytes.set(id, 'more');
          for (const l of logs.listeners) l();
          engine.advance(10_000); // sleep 10 exits 0
        }
      },
    );
    expect((await done).status).toBe(200);
    expect(chunks.join('')).toBe('stdout:more');
  });

  it('runs a pipeline with vars and tap, lists and stops it', async () => {
    await call('POST', '/v1/workspaces', { toml: STRICT_WORKSPACE_TOML });
    const run = await call('POST', '/v1/pipelines', {
      source: ECHO_CAT_PIPELINE_TOML,
      vars: { WS: 'strict' },
      tap: true,
    });
    expect(run.status).toBe(200);
    expect(run.body).toMatchObject({ label: 'echo-cat', taps: [{ edgeIndex: 0 }], verdicts: [] });
    engine.advance(10); // the tap's first sample arrives and is classified
    const list = await call<unknown[]>('GET', '/v1/pipelines');
    expect(list.body).toHaveLength(1);
    expect(list.body[0]).toMatchObject({ verdicts: [{ edgeIndex: 0, ty: 'ndjson' }] });
    const stop = await call('POST', `/v1/pipelines/${run.body.id}/stop`, { graceMs: 0 });
    // echo has exited already; the stop reaps cat, which runs until signalled.
    expect(stop.body).toEqual({ reaped: 1 });
  });

  it('refuses a pipeline with a bad edge, listing the issue', async () => {
    const broken = ECHO_CAT_PIPELINE_TOML.replace('to = 1', 'to = 7');
    const run = await call<{ error: { message: string } }>('POST', '/v1/pipelines', {
      source: broken,
      vars: { WS: 'strict' },
    });
    expect(run.status).toBe(400);
    expect(run.body.error.message).toMatch(/^invalid pipeline spec:\nedges\[0\]\.to: /);
  });

  it('saves, lists, runs and drops a saved pipeline', async () => {
    await call('POST', '/v1/workspaces', { toml: STRICT_WORKSPACE_TOML });
    const saved = await call('PUT', '/v1/saved-pipelines/ec', { source: ECHO_CAT_PIPELINE_TOML });
    expect(saved.body).toMatchObject({ name: 'ec', source: ECHO_CAT_PIPELINE_TOML });
    expect((await call<unknown[]>('GET', '/v1/saved-pipelines')).body).toHaveLength(1);
    const run = await call('POST', '/v1/saved-pipelines/ec/run', { vars: { WS: 'strict' } });
    expect(run.body).toMatchObject({ label: 'echo-cat' });
    expect((await call('DELETE', '/v1/saved-pipelines/ec')).status).toBe(200);
    expect((await call('DELETE', '/v1/saved-pipelines/ec')).status).toBe(404);
  });

  it('streams event history as server-sent events', async () => {
    const reply = await call('GET', '/v1/events?history=1');
    expect(reply.body).toBe(
      'id: 2-0\nevent: restart\ndata: {"wallMs":2,"ev":"restart","fields":' +
        '{"ws":"W","cmd":"C","backoff_ms":400}}\n\n',
    );
  });

  it('resumes after Last-Event-ID, and ids go on with the live events', async () => {
    const first = (await call<string>('GET', '/v1/events?history=5')).body;
    expect([...first.matchAll(/^id: (.*)$/gm)].map((m) => m[1])).toEqual(['1-0', '2-0']);
    const seen: string[] = [];
    const headers = { 'last-event-id': '1-0' };
    const done = requestStream(socket, '/v1/events?follow=1', (c) => seen.push(c.toString()), {
      headers,
    });
    await waitFor(() => seen.join('').includes('id: 2-0'));
    // A live event of the real engine: its id follows the replayed one, 1-0 is not resent.
    engine.sup.createWorkspace(workspaceSpec({ label: 'again' }));
    await waitFor(() => seen.join('').includes('"ev":"workspace-create"'));
    await server.close();
    await done.catch(() => undefined);
    const ids = [...seen.join('').matchAll(/^id: (.*)$/gm)].map((m) => m[1]);
    expect(ids).toHaveLength(2);
    expect(ids[0]).toBe('2-0');
    expect(ids[1]).toMatch(/^\d+-\d+$/);
  });

  it('streams new events with follow=1', async () => {
    const seen: string[] = [];
    const done = requestStream(socket, '/v1/events?history=0&follow=1', (c) => {
      seen.push(c.toString());
    });
    // The stream is open once the headers are flushed; emit after a round trip.
    await call('GET', '/v1/health');
    await call('POST', '/v1/workspaces', { toml: STRICT_WORKSPACE_TOML });
    await call('POST', '/v1/workspaces/strict/stop', { graceMs: 0 });
    await waitFor(() => seen.join('').includes('"ev":"workspace-stopped"'));
    await server.close();
    await done.catch(() => undefined);
    expect(seen.join('')).toContain('event: workspace-create\n');
  });

  it('renders Prometheus metrics', async () => {
    await call('POST', '/v1/workspaces', { toml: STRICT_WORKSPACE_TOML });
    const reply = await call('GET', '/metrics');
    expect(reply.body).toContain('# TYPE shipote_workspaces gauge\nshipote_workspaces 1\n');
    expect(reply.body).toContain('shipote_flow_bytes_total{pipeline="unknown",edge="0"} 42');
  });

  it('leaves out doctor findings about what no longer exists', async () => {
    const reply = await call<{ findings: { fix: string }[] }>('GET', '/v1/doctor');
    expect(reply.body.findings).toEqual([]);
  });

  it('makes the client throw UnreachableError when nobody listens', async () => {
    await expect(requestJson(join(dir, 'none.sock'), 'GET', '/v1/health')).rejects.toBeInstanceOf(
      UnreachableError,
    );
  });
});

async function waitFor(check: () => boolean, deadlineMs = 5000): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (!check()) {
    if (Date.now() > until) throw new Error('condition not met before the deadline');
    await new Promise((r) => setTimeout(r, 10));
  }
}
