/**
 * Capture to disk: a C writer (bench/line-writer.c) writes 1 GB as 100-byte lines and
 * times itself. Ours: the Linux adapter's log store (the native writer thread splices the
 * pipe into rotated files) — against the same writer piped through `cat > file` on the
 * same disk (the limit), a bare Node pipe into a file (`child.stdout.pipe(createWriteStream)`)
 * and PM2 with `out_file` (the devDependency), each run in the same session.
 * Then a real daemon: its RSS before, during and after such a capture, with one follower
 * that never reads, and the latency of `logs -n 100` on a 1 GiB log.
 */

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { createLinuxKernel } from '../adapters/linux/index.js';
import { paired, pairedRow } from './rounds.js';
import { type BenchContext, Exits, proc, type Row } from './suites.js';

const GB = 1e9;

function compileWriter(ctx: BenchContext): string | null {
  const out = join(ctx.runtimeDir, 'line-writer');
  try {
    execFileSync('cc', ['-O2', '-o', out, join(import.meta.dirname, 'line-writer.c')]);
    return out;
  } catch {
    return null;
  }
}

const secsIn = (report: string): number => Number(readFileSync(report, 'utf8').trim());

async function ours(ctx: BenchContext, writer: string, bytes: number, dir: string) {
  rmSync(dir, { recursive: true, force: true });
  const kernel = createLinuxKernel({ runtimeDir: join(dir, 'run'), logDir: join(dir, 'logs') });
  const exits = new Exits(kernel);
  const report = join(dir, 'report');
  const r = kernel.spawn('cap', proc(writer, [String(bytes), report]));
  if (!r.ok) throw new Error(r.error.message);
  await exits.wait(r.value.pid);
  kernel.close();
  ctx.log(`  shipote file store: ${(bytes / secsIn(report) / GB).toFixed(2)} GB/s`);
  return bytes / secsIn(report) / GB;
}

async function shellCat(writer: string, bytes: number, dir: string): Promise<number> {
  mkdirSync(dir, { recursive: true });
  const report = join(dir, 'report-cat');
  const out = join(dir, 'cat.out');
  execFileSync('sh', ['-c', `'${writer}' ${bytes} '${report}' | cat > '${out}'`]);
  rmSync(out, { force: true });
  return bytes / secsIn(report) / GB;
}

async function nodePipe(writer: string, bytes: number, dir: string): Promise<number> {
  mkdirSync(dir, { recursive: true });
  const report = join(dir, 'report-node');
  const out = join(dir, 'node.out');
  const child = spawn(writer, [String(bytes), report], { stdio: ['ignore', 'pipe', 'inherit'] });
  const file = createWriteStream(out);
  child.stdout.pipe(file);
  await new Promise<void>((resolve) => file.on('close', () => resolve()));
  rmSync(out, { force: true });
  return bytes / secsIn(report) / GB;
}

/** PM2 (devDependency) with out_file on the same disk; null when it cannot run. */
async function pm2(ctx: BenchContext, writer: string, bytes: number, dir: string) {
  const bin = join(import.meta.dirname, '..', 'node_modules', '.bin', 'pm2');
  if (!existsSync(bin)) return null;
  mkdirSync(dir, { recursive: true });
  const env = { ...process.env, PM2_HOME: join(dir, 'pm2-home') };
  const report = join(dir, 'report-pm2');
  const out = join(dir, 'pm2.out');
  rmSync(report, { force: true });
  try {
    const args = ['start', writer, '--name', 'cap', '--no-autorestart', '-o', out];
    execFileSync(bin, [...args, '-e', join(dir, 'pm2.err'), '--', String(bytes), report], {
      env,
      stdio: 'ignore',
    });
    const until = Date.now() + 120_000;
    while (!existsSync(report) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 100)); // the report is written after the last write
    return existsSync(report) ? bytes / secsIn(report) / GB : null;
  } catch (e) {
    ctx.log(`  pm2: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
    return null;
  } finally {
    try {
      execFileSync(bin, ['kill'], { env, stdio: 'ignore' });
    } catch {
      // not running
    }
    rmSync(out, { force: true });
  }
}

async function throughputRows(ctx: BenchContext, writer: string, dir: string): Promise<Row[]> {
  const bytes = ctx.quick ? 256e6 : GB;
  const rounds = ctx.quick ? 2 : 4;
  const vsCat = await paired(
    rounds,
    () => ours(ctx, writer, bytes, join(dir, 'ours')),
    () => shellCat(writer, bytes, dir),
  );
  ctx.log(`capture to disk: ours ${vsCat.value.toFixed(2)} GB/s, cat ${vsCat.baseline.toFixed(2)}`);
  const vsNode = await paired(
    rounds,
    () => ours(ctx, writer, bytes, join(dir, 'ours')),
    () => nodePipe(writer, bytes, dir),
  );
  const rows = [
    pairedRow(`capture ${bytes / GB} GB to disk vs \`| cat > file\``, 'GB/s', vsCat, {
      text: '≥ 0.8×',
      ratio: 0.8,
    }),
    pairedRow('capture to disk vs Node pipe → file', 'GB/s', vsNode, null),
  ];
  const pm = await pm2(ctx, writer, bytes, dir);
  const mine = await ours(ctx, writer, bytes, join(dir, 'ours'));
  if (pm === null) ctx.log('capture vs PM2: PM2 could not run (not installed?)');
  else {
    rows.push({
      metric: 'capture to disk vs PM2 out_file',
      unit: 'GB/s',
      value: mine,
      baseline: pm,
      ratio: mine / pm,
      spread: '1 round',
      goal: '≥ 4×',
      met: mine / pm >= 4,
    });
  }
  rmSync(join(dir, 'ours'), { recursive: true, force: true });
  return rows;
}

export async function captureSuite(ctx: BenchContext): Promise<Row[]> {
  const writer = compileWriter(ctx);
  if (!writer) {
    ctx.log('capture: no C compiler for the line writer; skipped');
    return [];
  }
  const dir = join(ctx.runtimeDir, 'capture');
  const rows = await throughputRows(ctx, writer, dir);
  rows.push(...(await daemonRows(ctx, writer, join(ctx.runtimeDir, 'daemon'))));
  return rows;
}

// ── The daemon: RSS around a capture, a stalled follower, `logs -n 100` on 1 GiB ──────────

const root = join(import.meta.dirname, '..');

function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

function cliArgs(): string[] {
  const loader = join(root, 'node_modules', 'tsx', 'dist', 'loader.mjs');
  return ['--import', `file://${loader}`, join(root, 'adapters', 'cli', 'main.ts')];
}

function httpGet(socketPath: string, path: string): Promise<{ ms: number; bytes: number }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, agent: false }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => {
        bytes += c.length;
      });
      res.on('end', () => resolve({ ms: performance.now() - t0, bytes }));
    });
    req.on('error', reject);
    req.end();
  });
}

interface Daemon {
  child: ChildProcess;
  env: NodeJS.ProcessEnv;
  socket: string;
}

async function startDaemon(dir: string): Promise<Daemon> {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const socket = join(dir, 'run', 'shipote.sock');
  const env = {
    ...process.env,
    SHIPOTE_SOCKET: socket,
    SHIPOTE_STATE: join(dir, 'state', 'state.json'),
    SHIPOTE_NO_AUTOSTART: '1',
    SHIPOTE_CGROUPS: 'off',
    // One file holds the whole capture (the `logs -n 100` of 1 GiB measurement).
    SHIPOTE_LOG_MAX_BYTES: String(2 ** 31),
    SHIPOTE_LOG_KEEP: '1',
  };
  const child = spawn(process.execPath, [...cliArgs(), 'daemon'], { env, stdio: 'ignore' });
  const until = Date.now() + 20_000;
  while (!existsSync(socket) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  const cli = (...a: string[]) => execFileSync(process.execPath, [...cliArgs(), ...a], { env });
  execFileSync('sh', ['-c', `echo 'label = "b"' > '${join(dir, 'b.toml')}'`]);
  cli('workspace', 'create', join(dir, 'b.toml'));
  return { child, env, socket };
}

function run(d: Daemon, label: string, argv: string[]): void {
  execFileSync(process.execPath, [...cliArgs(), 'run', 'b', '--label', label, '--', ...argv], {
    env: d.env,
  });
}

async function waitExited(d: Daemon, label: string): Promise<void> {
  for (;;) {
    const out = execFileSync(process.execPath, [...cliArgs(), 'commands', 'b', '--json'], {
      env: d.env,
      encoding: 'utf8',
    });
    const list = JSON.parse(out) as { label: string; state: string }[];
    if (list.some((c) => c.label === label && c.state === 'exited')) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Samples RSS every 50 ms while `work` runs; returns the peak. */
async function peakDuring(pid: number, work: Promise<void>): Promise<number> {
  let peak = rssKiB(pid);
  let done = false;
  void work.then(() => {
    done = true;
  });
  while (!done) {
    peak = Math.max(peak, rssKiB(pid));
    await new Promise((r) => setTimeout(r, 50));
  }
  return Math.max(peak, rssKiB(pid));
}

async function daemonRows(ctx: BenchContext, writer: string, dir: string): Promise<Row[]> {
  const bytes = ctx.quick ? 256e6 : 2 ** 30;
  const d = await startDaemon(dir);
  const pid = d.child.pid!;
  try {
    await new Promise((r) => setTimeout(r, 1000));
    const before = rssKiB(pid);
    run(d, 'cap', [writer, String(bytes), join(dir, 'r1')]);
    const during = await peakDuring(pid, waitExited(d, 'cap'));
    await new Promise((r) => setTimeout(r, 2000));
    const after = rssKiB(pid);
    const stalled = createConnection(d.socket);
    stalled.write('GET /v1/workspaces/b/commands/cap2/logs?follow=1 HTTP/1.1\r\nHost: x\r\n\r\n');
    stalled.pause();
    run(d, 'cap2', [writer, String(bytes), join(dir, 'r2')]);
    const withStalled = await peakDuring(pid, waitExited(d, 'cap2'));
    stalled.destroy();
    const tails: number[] = [];
    for (let i = 0; i < 5; i++) {
      tails.push((await httpGet(d.socket, '/v1/workspaces/b/commands/cap/logs?lines=100')).ms);
    }
    tails.sort((a, b) => a - b);
    const tailMs = tails[2]!;
    const mib = (k: number) => Math.round(k / 1024);
    ctx.log(
      `daemon RSS MiB: before ${mib(before)}, peak during ${mib(during)}, after ${mib(after)}, ` +
        `peak with a stalled follower ${mib(withStalled)}; logs -n 100 of ${bytes} B: ` +
        `${tailMs.toFixed(1)} ms (median of 5)`,
    );
    return rssRows(before, during, after, withStalled, tailMs);
  } finally {
    d.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
    rmSync(dir, { recursive: true, force: true });
  }
}

function rssRows(before: number, during: number, after: number, stalled: number, tailMs: number) {
  const mib = (k: number) => k / 1024;
  const row = (metric: string, value: number, goal: string, met: boolean | null): Row => ({
    metric,
    unit: 'MiB',
    value,
    baseline: mib(before),
    ratio: value / mib(before),
    spread: null,
    goal,
    met,
  });
  return [
    row('daemon RSS peak during 1 GiB capture', mib(during), '(info)', null),
    row('daemon RSS after the capture', mib(after), '≤ before + 10', after - before <= 10 * 1024),
    row('daemon RSS peak, stalled follower', mib(stalled), '< 2× before', stalled < 2 * before),
    {
      metric: '`logs -n 100` of a 1 GiB log',
      unit: 'ms',
      value: tailMs,
      baseline: null,
      ratio: null,
      spread: 'median of 5',
      goal: '< 50 ms',
      met: tailMs < 50,
    },
  ];
}
