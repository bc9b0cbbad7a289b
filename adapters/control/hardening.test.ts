/**
 * The control API under hostile clients (docs/CONTRACT.md §6): malformed URLs, oversized
 * bodies, idle and excess connections, bad labels. Each case was an adversarial finding.
 */

import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Supervisor } from '../../core/engine/api.js';
import { workspaceSpec } from '../../core/manifest/defaults.js';
import { LIMITS } from '../../core/manifest/limits.js';
import { type SimEngine, simEngine } from '../../testing/engine.js';
import { controlDeps } from '../../testing/fixtures/control.js';
import { pollUntil } from '../../testing/linux.js';
import { requestJson, requestStream } from './client.js';
import { type ControlServer, serveControl } from './server.js';
import type { ControlDeps } from './types.js';

function deps(sup: Supervisor): ControlDeps {
  return controlDeps(sup);
}

let dir: string;
let socket: string;
let server: ControlServer;
let sup: Supervisor;
let engine: SimEngine;
const opened: Socket[] = [];

const limits = { connectionsMax: 8, idleTimeoutMs: 300, headersTimeoutMs: 300 };

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'shipote-hard-'));
  socket = join(dir, 'run', 'shipote.sock');
  engine = simEngine();
  sup = engine.sup;
  server = await serveControl(deps(sup), socket, limits);
});
afterEach(async () => {
  for (const s of opened.splice(0)) s.destroy();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A raw connection that says nothing; resolves once connected. */
function idleConnection(): Promise<{ sock: Socket; closed: () => boolean }> {
  return new Promise((resolve, reject) => {
    const sock = connect(socket);
    opened.push(sock);
    let closed = false;
    sock.on('close', () => {
      closed = true;
    });
    sock.on('error', () => undefined);
    sock.resume(); // Read what the server says (a 408), so its close is seen.
    sock.once('connect', () => resolve({ sock, closed: () => closed }));
    sock.once('error', reject);
  });
}

/** Sends `bytes` of body without waiting for the reply first; resolves with the status. */
function postBig(bytes: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { socketPath: socket, method: 'POST', path: '/v1/workspaces', agent: false },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => {
          body += c.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.setHeader('content-length', bytes);
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    for (let sent = 0; sent < bytes; sent += chunk.length) {
      req.write(chunk.subarray(0, Math.min(chunk.length, bytes - sent)));
    }
    req.end();
  });
}

describe('control server hardening', () => {
  it('answers a malformed %-escape in the path with 400, not 500', async () => {
    const reply = await requestJson<{ error: { message: string } }>(
      socket,
      'GET',
      '/v1/workspaces/%E0%A4%A',
    );
    expect(reply.status).toBe(400);
    expect(reply.body.error.message).toContain('malformed %-escape');
  });

  it('answers an oversized body with 413 after reading it, not a torn connection', async () => {
    const reply = await postBig(2 * 1024 * 1024);
    expect(reply.status).toBe(413);
    expect(reply.body).toContain('bodyBytesMax');
  });

  it('closes an idle connection after the idle timeout', async () => {
    const idle = await idleConnection();
    await pollUntil(() => (idle.closed() ? true : undefined), 'the idle connection to close', 3000);
  });

  it('closes a connection that trickles its headers past the headers timeout', async () => {
    const slow = await idleConnection();
    slow.sock.write('GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Slow: ');
    const drip = setInterval(() => {
      if (!slow.closed()) slow.sock.write('a');
    }, 50);
    try {
      await pollUntil(
        () => (slow.closed() ? true : undefined),
        'the slow connection to close',
        3000,
      );
    } finally {
      clearInterval(drip);
    }
  });

  it('keeps at most connectionsMax connections and still answers health', async () => {
    const idle: { sock: Socket; closed: () => boolean }[] = [];
    for (let i = 0; i < limits.connectionsMax * 3; i++) idle.push(await idleConnection());
    const reply = await requestJson(socket, 'GET', '/v1/health');
    expect(reply.status).toBe(200);
    const open = await pollUntil(
      () => {
        const n = idle.filter((c) => !c.closed()).length;
        return n <= limits.connectionsMax ? n : undefined;
      },
      'excess connections to be closed',
      3000,
    );
    expect(open).toBeLessThanOrEqual(limits.connectionsMax);
  });

  it('keeps a follow stream open past the idle timeout', async () => {
    const chunks: string[] = [];
    const done = requestStream(socket, '/v1/events?history=0&follow=1', (c) => {
      chunks.push(c.toString());
    });
    const idle = await idleConnection();
    await pollUntil(() => (idle.closed() ? true : undefined), 'the idle connection to close', 3000);
    sup.createWorkspace(workspaceSpec({ label: 'still-here' }));
    await pollUntil(
      () => (chunks.join('').includes('still-here') ? true : undefined),
      'the event on the follow stream',
    );
    // Closing the server ends the stream; the client sees it cut (the stream never ends).
    await server.close();
    await done.catch(() => undefined);
  });

  it('exports the event-loop delay in /metrics', async () => {
    const reply = await requestJson<string>(socket, 'GET', '/metrics');
    expect(reply.body).toMatch(/^shipote_event_loop_delay_seconds\{quantile="0\.99"\} \d/m);
    expect(reply.body).toMatch(/^shipote_event_loop_delay_max_seconds \d/m);
  });

  it('refuses a command label outside the documented set, naming the field', async () => {
    await requestJson(socket, 'POST', '/v1/workspaces', { toml: 'label = "w"\n' });
    const reply = await requestJson<{ error: { field: string; message: string } }>(
      socket,
      'POST',
      '/v1/workspaces/w/commands',
      { exec: '/bin/true', label: '\u001b]0;owned\u0007' },
    );
    expect(reply.status).toBe(400);
    expect(reply.body.error.field).toBe('label');
    expect(reply.body.error.message).toContain('expected 1-63 characters');
  });

  it('refuses a saved pipeline name outside the documented set', async () => {
    const name = encodeURIComponent('x'.repeat(64));
    const source =
      'label = "p"\nworkspace = "w"\n[[nodes]]\nlabel = "a"\n' +
      'payload = { Native = { exec = "/bin/cat" } }\n';
    const reply = await requestJson<{ error: { field: string } }>(
      socket,
      'PUT',
      `/v1/saved-pipelines/${name}`,
      { source },
    );
    expect(reply.status).toBe(400);
    expect(reply.body.error.field).toBe('name');
  });
});

/**
 * Header and request timeouts on their own: the idle timeout is far away, so only the
 * timeout checks can close these connections (they run only while a connection is open).
 */
describe('header and request timeouts (idle timeout out of the way)', () => {
  let strict: ControlServer;
  let strictSocket: string;
  beforeEach(async () => {
    strictSocket = join(dir, 'strict', 'shipote.sock');
    const strictLimits = { idleTimeoutMs: 600_000, headersTimeoutMs: 300, requestTimeoutMs: 600 };
    strict = await serveControl(deps(sup), strictSocket, strictLimits);
  });
  afterEach(() => strict.close());

  /** A raw connection that sends `first`, then one byte every 50 ms; the reply it got. */
  async function trickle(first: string): Promise<string> {
    const sock = connect(strictSocket);
    opened.push(sock);
    let reply = '';
    let closed = false;
    sock.on('data', (c: Buffer) => {
      reply += c.toString();
    });
    sock.on('close', () => {
      closed = true;
    });
    sock.on('error', () => undefined);
    sock.write(first);
    const drip = setInterval(() => {
      if (!closed) sock.write('a');
    }, 50);
    try {
      await pollUntil(() => (closed ? true : undefined), 'the slow connection to close', 5000);
    } finally {
      clearInterval(drip);
    }
    return reply;
  }

  it('answers 408 and closes a connection trickling its headers past the timeout', async () => {
    const reply = await trickle('GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Slow: ');
    expect(reply).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('answers 408 and closes a request whose body trickles past the request timeout', async () => {
    const head = 'POST /v1/workspaces HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n';
    const reply = await trickle(head);
    expect(reply).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('keeps a connection that has said nothing open past the headers timeout', async () => {
    const quiet = connect(strictSocket);
    opened.push(quiet);
    let closed = false;
    quiet.on('close', () => {
      closed = true;
    });
    await new Promise((r) => quiet.once('connect', r));
    // The trickling one is closed by the check; the quiet one, checked as often, is not.
    await trickle('GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Slow: ');
    expect(closed).toBe(false);
    const reply = await requestJson(strictSocket, 'GET', '/v1/health');
    expect(reply.status).toBe(200);
  });
});

/** A server that should not have started is stopped again, so the test cannot hang. */
async function serveAndClose(path: string): Promise<void> {
  const extra = await serveControl(deps(sup), path);
  await extra.close();
}

describe('socket directory and socket ownership', () => {
  it('refuses to serve in a world-writable directory, saying how to fix it', async () => {
    const open = join(dir, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    await expect(serveAndClose(join(open, 's.sock'))).rejects.toThrow(
      `socket directory ${open} has mode 0777 (writable by others); expected 0700`,
    );
  });

  it('refuses to serve in a directory owned by another uid', async () => {
    const theirs = join(dir, 'theirs');
    mkdirSync(theirs, { mode: 0o700 });
    chownSync(theirs, 4242, 4242);
    await expect(serveAndClose(join(theirs, 's.sock'))).rejects.toThrow(
      /socket directory .* is owned by uid 4242/,
    );
  });

  it('makes the client refuse a socket reached through a symbolic link', async () => {
    const link = join(dir, 'link.sock');
    symlinkSync(socket, link);
    await expect(requestJson(link, 'GET', '/v1/health')).rejects.toThrow(`${link} is not a socket`);
  });

  it('makes the client refuse a socket owned by another uid before sending', async () => {
    chownSync(socket, 4242, 4242);
    await expect(requestJson(socket, 'GET', '/v1/health')).rejects.toThrow(
      /is owned by uid 4242, not by you/,
    );
  });
});

describe('doctor and restore', () => {
  it('lists each snapshot entry that restore set aside, with where the file went', async () => {
    const extraDir = join(dir, 'd2');
    const report = {
      outcome: 'restored' as const,
      fromVersion: 4,
      workspaces: 1,
      savedPipelines: 0,
      relaunchedPipelines: 0,
      message: 'restored 1 workspaces',
      skipped: [{ path: 'workspaces[1]', message: 'workspaces[1].spec.label: expected a string' }],
      skippedAsidePath: '/state/state.json.partial-1',
    };
    const extra = await serveControl(
      { ...deps(sup), restoreReport: () => report },
      join(extraDir, 's.sock'),
    );
    try {
      const reply = await requestJson<{ findings: { what: string; fix: string }[] }>(
        join(extraDir, 's.sock'),
        'GET',
        '/v1/doctor',
      );
      expect(reply.body.findings).toContainEqual({
        what:
          'snapshot entry workspaces[1] was set aside: ' +
          'workspaces[1].spec.label: expected a string',
        fix:
          "cat '/state/state.json.partial-1'" +
          '  # the entry as it was; every other entry was restored',
        wallMs: 0,
      });
    } finally {
      await extra.close();
    }
  });
});

describe('metrics counters and gauges', () => {
  function sample(text: string, name: string): number {
    const m = new RegExp(`^${name.replace(/[{}"]/g, '\\$&')} (\\d+)$`, 'm').exec(text);
    return m ? Number(m[1]) : Number.NaN;
  }

  it('never lets shipote_restarts_total go down when a workspace goes away', async () => {
    let gone = false;
    // The real supervisor, seen through a view in which the workspace can vanish.
    const view = new Proxy(sup, {
      get(target, key) {
        if (key === 'listWorkspaces') return () => (gone ? [] : target.listWorkspaces());
        const value = Reflect.get(target, key) as unknown;
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const extraDir = join(dir, 'd3');
    const extra = await serveControl({ ...deps(view), supervisor: view }, join(extraDir, 's.sock'));
    try {
      await requestJson(join(extraDir, 's.sock'), 'POST', '/v1/workspaces', {
        toml: 'label = "w"\n',
      });
      const run = await requestJson<{ id: string }>(
        join(extraDir, 's.sock'),
        'POST',
        '/v1/workspaces/w/commands',
        { exec: '/bin/true' },
      );
      // An operator restart, with its event: it settles once the new process runs, which
      // takes simulated time (the old one ends first).
      const restarted = sup.restartCommand('w', run.body.id);
      engine.advance(2000);
      expect((await restarted).ok).toBe(true);
      const name = 'shipote_restarts_total{kind="command"}';
      const before = await requestJson<string>(join(extraDir, 's.sock'), 'GET', '/metrics');
      expect(sample(before.body, name)).toBe(1);
      gone = true;
      sup.createWorkspace(workspaceSpec({ label: 'other' })); // any event: counters look again
      const after = await requestJson<string>(join(extraDir, 's.sock'), 'GET', '/metrics');
      expect(sample(after.body, name)).toBe(1);
    } finally {
      await extra.close();
    }
  });

  it('reports the same pipeline and flow counts as health', async () => {
    const withFlow = {
      ...deps(sup),
      flows: () => [
        { socketPath: '/t/0', key: 'OLD', edgeIndex: 0, bytesTotal: 1, bytesPerSec: 0 },
      ],
    };
    const extraDir = join(dir, 'd4');
    const extra = await serveControl(withFlow, join(extraDir, 's.sock'));
    try {
      const health = await requestJson<{ pipelines: number; flows: number }>(
        join(extraDir, 's.sock'),
        'GET',
        '/v1/health',
      );
      const metrics = await requestJson<string>(join(extraDir, 's.sock'), 'GET', '/metrics');
      expect(sample(metrics.body, 'shipote_pipelines')).toBe(health.body.pipelines);
      expect(sample(metrics.body, 'shipote_flows')).toBe(health.body.flows);
    } finally {
      await extra.close();
    }
  });
});

describe('replies reach clients that are still sending', () => {
  it('answers a GET that carries a large body after reading it, not with EPIPE', async () => {
    const reply = await sendRaw('GET', '/v1/health', 512 * 1024);
    expect(reply.status).toBe(200);
  });

  it('answers headers too large with 431 while the client still sends its body', async () => {
    const reply = await sendRaw('PUT', `/v1/saved-pipelines/${'a'.repeat(20_000)}`, 1024 * 1024);
    expect(reply.status).toBe(431);
  });
});

/** Sends the body in slow chunks, so the server could reply (and close) before the end. */
function sendRaw(method: string, path: string, bytes: number): Promise<{ status: number }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: socket, method, path, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0 }));
    });
    req.on('error', reject);
    req.setHeader('content-length', bytes);
    const chunk = Buffer.alloc(32 * 1024, 0x7b);
    const writeFrom = (sent: number): void => {
      if (sent >= bytes) {
        req.end();
        return;
      }
      const n = Math.min(chunk.length, bytes - sent);
      req.write(chunk.subarray(0, n), () => setTimeout(() => writeFrom(sent + n), 2));
    };
    writeFrom(0);
  });
}

describe('state size limits', () => {
  it('refuses a saved pipeline that would take the saved sources past the limit', async () => {
    const body = (n: number) => ({
      source:
        `# ${'p'.repeat(60_000)}\nlabel = "p${n}"\nworkspace = "w"\n[[nodes]]\nlabel = "a"\n` +
        'payload = { Native = { exec = "/bin/cat" } }\n',
    });
    const perSave = body(0).source.length;
    const fits = Math.floor(LIMITS.savedCharsMax / perSave);
    for (let n = 0; n < fits; n++) {
      const ok = await requestJson(socket, 'PUT', `/v1/saved-pipelines/s${n}`, body(n));
      expect(ok.status).toBe(200);
    }
    const reply = await requestJson<{ error: { message: string } }>(
      socket,
      'PUT',
      '/v1/saved-pipelines/one-more',
      body(fits),
    );
    expect(reply.status).toBe(413);
    expect(reply.body.error.message).toContain('(savedCharsMax)');
    // Replacing a saved pipeline by one of the same size still fits.
    expect((await requestJson(socket, 'PUT', '/v1/saved-pipelines/s0', body(0))).status).toBe(200);
  });

  it('refuses a workspace past workspacesMax, naming the limit', async () => {
    // All but the last through the supervisor (fast), the last through the API.
    for (let n = 0; n < LIMITS.workspacesMax - 1; n++) {
      expect(sup.createWorkspace(workspaceSpec({ label: `w${n}` })).ok).toBe(true);
    }
    const last = await requestJson(socket, 'POST', '/v1/workspaces', { toml: 'label = "last"\n' });
    expect(last.status).toBe(200);
    const reply = await requestJson<{ error: { message: string } }>(
      socket,
      'POST',
      '/v1/workspaces',
      { toml: 'label = "over"\n' },
    );
    expect(reply.status).toBe(413);
    expect(reply.body.error.message).toContain('(workspacesMax)');
  }, 60_000);
});
