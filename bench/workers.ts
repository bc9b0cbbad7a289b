/**
 * Workers (contract §9) against their limits, measured in the same run:
 * - durable push rate through the control API of a real daemon, 1 and 16 concurrent
 *   clients, beside the same number of rows inserted one commit each with
 *   `synchronous=FULL` (WAL) by a bare better-sqlite3 loop: what the disk allows;
 * - end to end, 1,000 tasks of /bin/true pushed and run, beside a shell loop running
 *   /bin/true 1,000 times. Its 16 pushing clients, and the poll for the end, keep their
 *   connections (HTTP/1.1 keep-alive, as an API client does); the push rows above open
 *   one per push, as the CLI does.
 * The daemon runs as its own process (from the TypeScript sources through tsx), its
 * state and queue on the same file system as the baseline's database.
 */

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { requestJson } from '../adapters/control/client.js';
import { socketAnswers } from '../adapters/control/server.js';
import type { WorkerView } from '../core/engine/worker-api.js';
import { describePaired, paired, pairedRow } from './rounds.js';
import type { BenchContext, Row } from './suites.js';

const nowNs = (): bigint => process.hrtime.bigint();
const secsSince = (t0: bigint): number => Number(nowNs() - t0) / 1e9;

const PUSH_GOAL = { text: '≥ 0.8× (c=16)', ratio: 0.8 };
const E2E_GOAL = { text: '≥ 0.7×', ratio: 0.7 };

async function call<T>(
  h: { socketPath: string },
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  const r = await requestJson<T>(h.socketPath, method, path, body);
  if (r.status !== 200) throw new Error(`${method} ${path}: ${JSON.stringify(r.body)}`);
  return r.body;
}

type Push = (path: string, payload: Uint8Array) => Promise<unknown>;

/** One push per connection, as the CLI makes it. */
const pushOnce =
  (h: Harness): Push =>
  (path, payload) =>
    call(h, 'POST', path, payload);

/** Requests over kept connections (at most `c` open), as a long-lived API client makes them. */
function keptClient(h: Harness, c: number) {
  const agent = new Agent({ keepAlive: true, maxSockets: c });
  const send = (method: string, path: string, payload?: Uint8Array): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const headers = payload ? { 'content-length': payload.byteLength } : {};
      const opts = { socketPath: h.socketPath, agent, method, path, headers };
      const req = request(opts, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          if (res.statusCode === 200) resolve(JSON.parse(text));
          else reject(new Error(`${method} ${path}: ${text}`));
        });
      });
      req.on('error', reject);
      req.end(payload);
    });
  const push: Push = (path, payload) => send('POST', path, payload);
  const get = <T>(path: string) => send('GET', path) as Promise<T>;
  return { push, get, close: () => agent.destroy() };
}

/** `n` durable pushes from `c` concurrent clients; pushes per second. */
async function pushRate(
  h: Harness,
  worker: string,
  n: number,
  c: number,
  push: Push = pushOnce(h),
): Promise<number> {
  let started = 0;
  const payload = new TextEncoder().encode('{"job":"bench"}\n');
  const t0 = nowNs();
  const client = async () => {
    while (started < n) {
      started += 1;
      await push(`/v1/workers/${worker}/tasks`, payload);
    }
  };
  await Promise.all(Array.from({ length: c }, client));
  return n / secsSince(t0);
}

/** The limit: `n` rows, one durable commit each (WAL, synchronous=FULL); rows per second. */
function bareInserts(dir: string, n: number): number {
  const path = join(dir, `bare-${process.hrtime.bigint()}.db`);
  const db = new Database(path);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.exec('CREATE TABLE t (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT, payload BLOB)');
    const insert = db.prepare('INSERT INTO t (id, payload) VALUES (?, ?)');
    const payload = Buffer.from('{"job":"bench"}\n');
    const t0 = nowNs();
    for (let i = 0; i < n; i++) insert.run(`id-${i}`, payload);
    return n / secsSince(t0);
  } finally {
    db.close();
    rmSync(path, { force: true });
    rmSync(`${path}-wal`, { force: true });
    rmSync(`${path}-shm`, { force: true });
  }
}

/** Push `n` tasks of /bin/true and wait until all are done; tasks per second. */
async function endToEnd(h: Harness, worker: string, n: number): Promise<number> {
  const before = (await call<WorkerView>(h, 'GET', `/v1/workers/${worker}`)).done;
  const t0 = nowNs();
  const kept = keptClient(h, 16);
  try {
    await pushRate(h, worker, n, 16, kept.push);
    for (;;) {
      const w = await kept.get<WorkerView>(`/v1/workers/${worker}`);
      if (w.done - before >= n) break;
      if (w.dead > 0) throw new Error(`bench worker ${worker} dead-lettered a task`);
      await new Promise((r) => setTimeout(r, 5));
    }
  } finally {
    kept.close();
  }
  return n / secsSince(t0);
}

function shellLoop(n: number): number {
  const t0 = nowNs();
  const script = `i=0; while [ $i -lt ${n} ]; do /bin/true; i=$((i+1)); done`;
  execFileSync('/bin/sh', ['-c', script]);
  return n / secsSince(t0);
}

/** A daemon of its own (from the sources through tsx) on a temp socket and state dir. */
interface Harness {
  dir: string;
  socketPath: string;
  daemon: ChildProcess;
}

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

async function startDaemon(ctx: BenchContext): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'shipote-bench-workers-'));
  const socketPath = join(dir, 'run', 'shipote.sock');
  const loader = pathToFileURL(join(repoRoot, 'node_modules', 'tsx', 'dist', 'loader.mjs'));
  const main = join(repoRoot, 'adapters', 'cli', 'main.ts');
  const env = {
    ...process.env,
    SHIPOTE_SOCKET: socketPath,
    SHIPOTE_STATE: join(dir, 'state', 'state.json'),
    SHIPOTE_CGROUPS: 'off',
  };
  const daemon = spawn(process.execPath, ['--import', loader.href, main, 'daemon'], {
    env,
    stdio: 'ignore',
  });
  const until = Date.now() + 30_000;
  while (!(await socketAnswers(socketPath))) {
    if (Date.now() > until || daemon.exitCode !== null)
      throw new Error('bench daemon did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
  const h = { dir, socketPath, daemon };
  for (const label of ['bench', 'held']) {
    await call(h, 'POST', '/v1/workspaces', { toml: `label = "${label}"\n` });
  }
  ctx.log(`workers: daemon on ${socketPath}`);
  return h;
}

async function closeDaemon(h: Harness): Promise<void> {
  const gone = new Promise((r) => h.daemon.once('exit', r));
  h.daemon.kill('SIGTERM');
  await gone;
  rmSync(h.dir, { recursive: true, force: true });
}

async function createWorker(h: Harness, ws: string, name: string): Promise<void> {
  await call(h, 'POST', '/v1/workers', { workspace: ws, name, exec: '/bin/true' });
}

export async function workerSuite(ctx: BenchContext): Promise<Row[]> {
  const h = await startDaemon(ctx);
  const baseDir = mkdtempSync(join(h.dir, 'bare-'));
  const rows: Row[] = [];
  try {
    // Push rate: the tasks wait in a stopped workspace, so nothing runs while pushing.
    await createWorker(h, 'held', 'held');
    await call(h, 'POST', '/v1/workspaces/held/stop', { graceMs: 0 });
    const n = ctx.quick ? 200 : 1000;
    await pushRate(h, 'held', 50, 4); // warm-up
    bareInserts(baseDir, 50);
    for (const c of [1, 16]) {
      const p = await paired(
        ctx.quick ? 3 : 5,
        () => pushRate(h, 'held', n, c),
        async () => bareInserts(baseDir, n),
      );
      const goal = c === 16 ? PUSH_GOAL : null;
      rows.push(pairedRow(`worker push c=${c} vs bare SQLite`, 'push/s', p, goal));
      ctx.log(`worker push c=${c}: ${describePaired(p)}`);
    }
    await createWorker(h, 'bench', 'run');
    const tasks = ctx.quick ? 300 : 1000;
    await endToEnd(h, 'run', 50); // warm-up
    const p = await paired(
      ctx.quick ? 3 : 5,
      () => endToEnd(h, 'run', tasks),
      async () => shellLoop(tasks),
    );
    rows.push(pairedRow(`worker ${tasks} × /bin/true vs sh loop`, 'task/s', p, E2E_GOAL));
    ctx.log(`worker tasks: ${describePaired(p)}`);
  } finally {
    await closeDaemon(h);
  }
  return rows;
}
