/**
 * POST /v1/apply over the real engine on the simulator's ports (testing/engine.ts): what a
 * plan does to the daemon, the no-op second apply, a bad file refused whole, workers through
 * the hook, and what is refused before anything runs.
 */

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { workerSignature } from '../../core/apply/plan.js';
import type { WorkerDecl } from '../../core/manifest/apply.js';
import { type SimEngine, simEngine } from '../../testing/engine.js';
import { controlDeps, textLogSource } from '../../testing/fixtures/control.js';
import { requestJson } from './client.js';
import type { ApplyDeps, ApplyReply, ApplyWorkerHook } from './routes-apply.js';
import { type ControlServer, serveControl } from './server.js';

let dir: string;
let socket: string;
let server: ControlServer;
let engine: SimEngine;
let stopPump: () => void;

function deps(hook?: ApplyWorkerHook): ApplyDeps {
  return {
    ...controlDeps(engine.sup, {
      logs: textLogSource(new Map(), new Set()),
      socketPath: socket,
      nowMs: () => 0,
    }),
    ...(hook ? { applyWorkers: hook } : {}),
  };
}

async function serve(hook?: ApplyWorkerHook): Promise<void> {
  server = await serveControl(deps(hook), socket);
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'shipote-apply-'));
  socket = join(dir, 'run', 'shipote.sock');
  engine = simEngine();
  stopPump = engine.pump();
});
afterEach(async () => {
  stopPump();
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

type Reply = ApplyReply & { error?: { code: string; message: string; issues?: unknown[] } };

const apply = (source: string, extra: Record<string, unknown> = {}) =>
  requestJson<Reply>(socket, 'POST', '/v1/apply', { source, baseDir: dir, ...extra });

function svc(label: string, argv = '["100"]', more = ''): string {
  const head = `[[services]]\nlabel = "${label}"\nworkspace = "w"\n`;
  return `${head}exec = "/bin/sleep"\nargv = ${argv}\n${more}`;
}

const WS = '[[workspaces]]\nlabel = "w"\n';

describe('POST /v1/apply', () => {
  it('creates what is missing, then a second apply changes nothing', async () => {
    await serve();
    const file = [WS, svc('a'), svc('b', '["100"]', 'depends_on = ["a"]')].join('\n');
    const first = await apply(file);
    expect(first.status).toBe(200);
    expect(first.body.plan).toEqual(['+ workspace w', '+ service w/a', '+ service w/b']);
    expect(first.body.results.map((r) => r.action)).toEqual([
      'create-workspace',
      'start-service',
      'start-service',
    ]);
    const listed = engine.sup.listCommands('w');
    expect(listed.ok && listed.value.map((c) => [c.label, c.state])).toEqual([
      ['a', 'running'],
      ['b', 'running'],
    ]);
    const second = await apply(file);
    expect(second.body).toEqual({
      dryRun: false,
      plan: [],
      unchanged: ['workspace w', 'service w/a', 'service w/b'],
      results: [],
    });
  });

  it('starts each dependency level under one snapshot write, not one per service', async () => {
    await serve();
    const level0 = Array.from({ length: 20 }, (_, i) => svc(`a${i}`));
    const level1 = Array.from({ length: 20 }, (_, i) =>
      svc(`b${i}`, '["100"]', 'depends_on = ["a0"]'),
    );
    const okWrites = () => engine.store.writes.filter((w) => w.ok).length;
    const before = okWrites();
    const reply = await apply([WS, ...level0, ...level1].join('\n'));
    expect(reply.status).toBe(200);
    expect(reply.body.results.filter((r) => r.action === 'start-service')).toHaveLength(40);
    // The workspace, then one write-through per level (deferred saves of derived data aside).
    const listed = engine.sup.listCommands('w');
    expect(listed.ok && listed.value.filter((c) => c.state === 'running')).toHaveLength(40);
    expect(okWrites() - before).toBeLessThanOrEqual(4);
  });

  it('restarts a service of the file that is no longer running, keeping its id', async () => {
    await serve();
    const file = [WS, svc('short', '["1"]')].join('\n');
    const first = await apply(file);
    const id = first.body.results[1]?.id;
    engine.advance(2000);
    const dead = engine.sup.getCommand('w', 'short');
    expect(dead.ok && dead.value.state).toBe('exited');
    const again = await apply(file);
    expect(again.body.plan).toEqual(['~ service w/short (not running: restart)']);
    const view = engine.sup.getCommand('w', 'short');
    expect(view.ok && [view.value.id, view.value.state]).toEqual([id, 'running']);
  });

  it('a dry run plans and touches nothing', async () => {
    await serve();
    const reply = await apply([WS, svc('a')].join('\n'), { dryRun: true });
    expect(reply.body).toMatchObject({ dryRun: true, plan: ['+ workspace w', '+ service w/a'] });
    expect(engine.sup.listWorkspaces()).toEqual([]);
  });

  it('refuses a bad file whole, with every issue and its line, and creates nothing', async () => {
    await serve();
    const bad = [WS, svc('a', '["1"]', 'restart = "often"\n'), svc('a')].join('\n');
    const reply = await apply(bad);
    expect(reply.status).toBe(400);
    expect(reply.body.error?.message).toBe(
      'invalid apply file (nothing applied):\n' +
        'services[0].restart: expected one of no, on-failure, always, got "often" (string) ' +
        '(line 9)\n' +
        'services[1].label: duplicate "w/a" (first at services[0]) (line 12)',
    );
    expect(engine.sup.listWorkspaces()).toEqual([]);
  });

  it('refuses a removal the engine cannot do before the first action', async () => {
    await serve();
    await apply([WS, svc('a'), svc('b')].join('\n'));
    const hasRemove = 'removeCommand' in engine.sup;
    const reply = await apply([WS, svc('a', '["200"]'), svc('c')].join('\n'), { prune: true });
    if (hasRemove) {
      expect(reply.status).toBe(200);
      return;
    }
    expect(reply.status).toBe(503);
    expect(reply.body.error?.message).toBe(
      "this daemon's engine has no removeCommand: upgrade the daemon (nothing applied)",
    );
    const listed = engine.sup.listCommands('w');
    expect(listed.ok && listed.value.map((c) => c.label)).toEqual(['a', 'b']);
  });

  it('runs pipelines by file with vars and leaves a running one alone', async () => {
    await serve();
    const pipeline = [
      'label = "cat"',
      `workspace = "\${WS}"`,
      '[[nodes]]',
      'label = "n"',
      'payload.Native = { exec = "/bin/cat", argv = [], envp = [] }',
    ].join('\n');
    writeFileSync(join(dir, 'cat.toml'), pipeline);
    const file = `${WS}\n[[pipelines]]\nfile = "cat.toml"\nvars = { WS = "w" }\n`;
    expect((await apply(file)).body.plan).toEqual(['+ workspace w', '+ pipeline cat']);
    expect(engine.sup.listPipelines().map((p) => [p.label, p.state])).toEqual([['cat', 'running']]);
    expect((await apply(file)).body.plan).toEqual([]);
  });

  it('refuses [[workers]] when the daemon has no worker support', async () => {
    await serve();
    const file = `${WS}\n[[workers]]\nname = "m"\nworkspace = "w"\nexec = "/bin/cat"\n`;
    const reply = await apply(file);
    expect(reply.status).toBe(400);
    expect(reply.body.error?.message).toBe(
      'invalid apply file (nothing applied):\n' +
        'workers[0]: this daemon has no worker support (line 4)',
    );
  });

  it('hands workers to the hook with their workspace id; a second apply is a no-op', async () => {
    const made: { worker: WorkerDecl; wsId: string }[] = [];
    await serve({
      list: () =>
        made.map(({ worker }) => ({
          name: worker.name,
          workspace: worker.workspace,
          signature: workerSignature(worker),
        })),
      create: async (worker, wsId) => {
        made.push({ worker, wsId });
      },
      remove: async () => {},
    });
    const file = `${WS}\n[[workers]]\nname = "m"\nworkspace = "w"\nexec = "/bin/cat"\n`;
    expect((await apply(file)).body.plan).toEqual(['+ workspace w', '+ worker m']);
    const ws = engine.sup.getWorkspace('w');
    expect(made.map((m) => [m.worker.name, m.wsId])).toEqual([['m', ws.ok ? ws.value.id : '']]);
    expect((await apply(file)).body.plan).toEqual([]);
  });
});
