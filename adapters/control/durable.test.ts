/**
 * A reply to a change is an acknowledgement (contract §5): the control server answers a
 * change only once the store says what was written is durable, and answers 503 naming the
 * failed write when it is not. Reads never wait.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PortError } from '../../core/ports.js';
import { type SimEngine, simEngine } from '../../testing/engine.js';
import { controlDeps, textLogSource } from '../../testing/fixtures/control.js';
import { requestJson } from './client.js';
import { type ControlServer, serveControl } from './server.js';
import type { ControlDeps } from './types.js';

let dir: string;
let socket: string;
let server: ControlServer;
let engine: SimEngine;
let stopPump: () => void;
let pending: ((failure: PortError | null) => void)[];

function deps(): ControlDeps {
  return controlDeps(engine.sup, {
    logs: textLogSource(new Map(), new Set()),
    socketPath: socket,
    nowMs: () => 0,
    durable: () => new Promise((resolve) => pending.push(resolve)),
  });
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'shipote-durable-'));
  socket = join(dir, 'run', 'shipote.sock');
  engine = simEngine();
  stopPump = engine.pump();
  pending = [];
  server = await serveControl(deps(), socket);
});
afterEach(async () => {
  stopPump();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

const until = async (ok: () => boolean) => {
  const end = Date.now() + 5000;
  while (!ok()) {
    if (Date.now() > end) throw new Error('condition not met within 5 s');
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('replies to changes wait for durability', () => {
  it('answers a change only after the store says it is durable', async () => {
    let answered = false;
    const reply = requestJson(socket, 'POST', '/v1/workspaces', { toml: 'label = "w"\n' }).then(
      (r) => {
        answered = true;
        return r;
      },
    );
    await until(() => pending.length === 1);
    expect(engine.sup.listWorkspaces().map((w) => w.label)).toEqual(['w']);
    expect(answered).toBe(false);
    pending.shift()?.(null);
    expect((await reply).status).toBe(200);
  });

  it('answers 503 naming the failed write when the change did not become durable', async () => {
    const reply = requestJson<{ error: { code: string; message: string } }>(
      socket,
      'POST',
      '/v1/workspaces',
      { toml: 'label = "w"\n' },
    );
    await until(() => pending.length === 1);
    pending.shift()?.({
      _tag: 'PortError',
      port: 'Store',
      method: 'write',
      reason: 'Unknown',
      message: 'EIO: i/o error, fsync',
    });
    const r = await reply;
    expect(r.status).toBe(503);
    expect(r.body.error).toEqual({
      code: 'unavailable',
      message: 'snapshot write failed: EIO: i/o error, fsync (the change is not durable)',
    });
  });

  it('reads are answered without waiting', async () => {
    const r = await requestJson(socket, 'GET', '/v1/workspaces');
    expect(r.status).toBe(200);
    expect(pending).toHaveLength(0);
  });
});
