/**
 * The apply suite (contract §7), against PM2 in the same run:
 * - `shipote apply` of a file with 200 services (CLI wall time) until 200 `sleep` children
 *   run under the daemon, beside `pm2 start` of an ecosystem file with the same 200 until 200
 *   run under PM2's daemon. Both daemons are up before the clock starts; "running" is judged
 *   the same way for both (children of the daemon's pid in /proc).
 * - stopping those 200 until no child remains: shipote through the control API
 *   (`POST /v1/workspaces/bench/stop`), PM2 through `pm2 delete all` (its CLI: PM2 has no
 *   socket API a script can call without it).
 * - restart overhead beyond the backoff, through the real engine: a fixture writes
 *   CLOCK_MONOTONIC at start and just before it exits 1; a service restarts it with a fixed
 *   backoff; overhead = next start − exit − backoff (median and p99).
 * Rounds alternate ABBA (bench/rounds.ts); ratios are PM2 ÷ shipote (speed-up).
 * Runs alone as `npx tsx bench/apply.ts [--quick] [--json]`; needs `npm run build`. Every
 * daemon runs on temp dirs with SHIPOTE_CGROUPS=off, and is ended at the end (PM2 by
 * `pm2 kill` of its own PM2_HOME).
 */

import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requestJson } from '../adapters/control/client.js';
import { socketAnswers } from '../adapters/control/server.js';
import { median } from './rounds.js';
import type { Row } from './suites.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'bin', 'shipote.cjs'); // the installed command (package.json bin)
const pm2Bin = join(root, 'node_modules', 'pm2', 'bin', 'pm2');
const SERVICES = 200;
const APPLY_GOAL_MS = 300;
const APPLY_GOAL_RATIO = 4;
const STOP_GOAL_MS = 100;
const RESTART_BACKOFF_MS = 100;

export interface ApplyBenchContext {
  quick: boolean;
  log: (line: string) => void;
}

interface Env {
  dir: string;
  env: NodeJS.ProcessEnv;
  socket: string;
  daemon: ChildProcess | null;
}

const nowMs = () => Number(process.hrtime.bigint()) / 1e6;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function run(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { env, maxBuffer: 64 * 2 ** 20 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${file} ${args.join(' ')}: ${error.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/** Pids of live children of `parent` whose comm is `comm` (one /proc scan). */
export function childrenNamed(parent: number, comm: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // fields[0] = state, fields[1] = ppid; a zombie is not running.
      if (name === comm && Number(fields[1]) === parent && fields[0] !== 'Z') {
        out.push(Number(entry));
      }
    } catch {
      // Gone between readdir and read.
    }
  }
  return out;
}

async function until(what: string, ok: () => boolean, deadlineMs = 60_000): Promise<void> {
  const end = nowMs() + deadlineMs;
  while (!ok()) {
    if (nowMs() > end) throw new Error(`${what}: not within ${deadlineMs} ms`);
    await sleep(1);
  }
}

// ── shipote ───────────────────────────────────────────────────────────────────────────

async function startShipote(dir: string): Promise<Env> {
  const socket = join(dir, 'run', 'shipote.sock');
  const env = {
    ...process.env,
    SHIPOTE_SOCKET: socket,
    SHIPOTE_STATE: join(dir, 'state', 'state.json'),
    SHIPOTE_NO_AUTOSTART: '1',
    SHIPOTE_CGROUPS: 'off',
    NO_COLOR: '1',
  };
  const daemon = spawn(process.execPath, [bin, 'daemon'], { env, stdio: 'ignore' });
  const end = nowMs() + 15_000;
  while (!(await socketAnswers(socket))) {
    if (daemon.exitCode !== null || nowMs() > end) throw new Error('shipote daemon: no answer');
    await sleep(50);
  }
  return { dir, env, socket, daemon };
}

function applyFile(dir: string): string {
  const parts = ['[[workspaces]]\nlabel = "bench"\n'];
  for (let i = 0; i < SERVICES; i += 1) {
    parts.push(
      `[[services]]\nlabel = "s${i}"\nworkspace = "bench"\nexec = "/bin/sleep"\n` +
        'argv = ["100000"]\nrestart = "always"\n',
    );
  }
  const file = join(dir, 'bench.toml');
  writeFileSync(file, parts.join('\n'));
  return file;
}

async function shipoteApply(e: Env, file: string): Promise<number> {
  const pid = e.daemon?.pid as number;
  const t0 = nowMs();
  await run(process.execPath, [bin, 'apply', file], e.env);
  await until('200 services under shipote', () => childrenNamed(pid, 'sleep').length >= SERVICES);
  return nowMs() - t0;
}

/** The same apply through the control API: the CLI's node start-up left out. */
async function shipoteApplyApi(e: Env, file: string): Promise<number> {
  const pid = e.daemon?.pid as number;
  const source = readFileSync(file, 'utf8');
  const t0 = nowMs();
  const reply = await requestJson(e.socket, 'POST', '/v1/apply', { source, baseDir: e.dir });
  if (reply.status !== 200) throw new Error(`apply: ${JSON.stringify(reply.body)}`);
  await until('200 services under shipote', () => childrenNamed(pid, 'sleep').length >= SERVICES);
  return nowMs() - t0;
}

async function shipoteStop(e: Env): Promise<number> {
  const pid = e.daemon?.pid as number;
  const t0 = nowMs();
  const reply = await requestJson(e.socket, 'POST', '/v1/workspaces/bench/stop', { graceMs: 1000 });
  if (reply.status !== 200) throw new Error(`stop: ${JSON.stringify(reply.body)}`);
  await until('no child of shipote', () => childrenNamed(pid, 'sleep').length === 0);
  return nowMs() - t0;
}

// ── PM2 ───────────────────────────────────────────────────────────────────────────────

function pm2Env(dir: string): NodeJS.ProcessEnv {
  return { ...process.env, PM2_HOME: join(dir, 'pm2'), PM2_DISABLE_VERSION_CHECK: 'true' };
}

function ecosystem(dir: string): string {
  const apps = Array.from({ length: SERVICES }, (_, i) => ({
    name: `s${i}`,
    script: '/bin/sleep',
    args: '100000',
    interpreter: 'none',
    exec_mode: 'fork',
    autorestart: true,
  }));
  const file = join(dir, 'ecosystem.config.cjs');
  writeFileSync(file, `module.exports = ${JSON.stringify({ apps })};\n`);
  return file;
}

function pm2Pid(dir: string): number {
  return Number(readFileSync(join(dir, 'pm2', 'pm2.pid'), 'utf8').trim());
}

async function pm2Start(dir: string, eco: string): Promise<number> {
  const god = pm2Pid(dir);
  const t0 = nowMs();
  await run(process.execPath, [pm2Bin, 'start', eco], pm2Env(dir));
  await until('200 services under PM2', () => childrenNamed(god, 'sleep').length >= SERVICES);
  return nowMs() - t0;
}

async function pm2Delete(dir: string): Promise<number> {
  const god = pm2Pid(dir);
  const t0 = nowMs();
  await run(process.execPath, [pm2Bin, 'delete', 'all'], pm2Env(dir));
  await until('no child of PM2', () => childrenNamed(god, 'sleep').length === 0);
  return nowMs() - t0;
}

// ── rounds ────────────────────────────────────────────────────────────────────────────

interface Times {
  applyApiMs: number[];
  applyMs: number[];
  stopMs: number[];
  pm2StartMs: number[];
  pm2StopMs: number[];
}

async function rounds(ctx: ApplyBenchContext, e: Env, dir: string): Promise<Times> {
  const file = applyFile(dir);
  const eco = ecosystem(dir);
  const t: Times = { applyApiMs: [], applyMs: [], stopMs: [], pm2StartMs: [], pm2StopMs: [] };
  const ours = async () => {
    t.applyMs.push(await shipoteApply(e, file));
    t.stopMs.push(await shipoteStop(e));
  };
  const theirs = async () => {
    t.pm2StartMs.push(await pm2Start(dir, eco));
    t.pm2StopMs.push(await pm2Delete(dir));
  };
  const n = ctx.quick ? 1 : 5; // a shared machine: the median of five pairs, not three
  for (let round = 0; round < n; round += 1) {
    if (round % 2 === 0) await ours().then(theirs);
    else await theirs().then(ours);
    const last = (xs: number[]) => (xs.at(-1) ?? 0).toFixed(0);
    ctx.log(
      `apply round ${round + 1}: shipote apply ${last(t.applyMs)} ms, stop ${last(t.stopMs)} ms;` +
        ` pm2 start ${last(t.pm2StartMs)} ms, delete ${last(t.pm2StopMs)} ms`,
    );
    t.applyApiMs.push(await shipoteApplyApi(e, file));
    await shipoteStop(e);
  }
  return t;
}

function rows(t: Times): Row[] {
  const ratios = (ours: number[], theirs: number[]) => ours.map((x, i) => theirs[i]! / x);
  const applyRatios = ratios(t.applyMs, t.pm2StartMs);
  const stopRatios = ratios(t.stopMs, t.pm2StopMs);
  const spread = (xs: number[]) =>
    `${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)}× (${xs.length})`;
  const applyMs = median(t.applyMs);
  const applyRatio = median(applyRatios);
  return [
    {
      metric: `apply ${SERVICES} services → running (vs pm2 start)`,
      unit: 'ms',
      value: applyMs,
      baseline: median(t.pm2StartMs),
      ratio: applyRatio,
      spread: spread(applyRatios),
      goal: `≤ ${APPLY_GOAL_MS} ms, ≥ ${APPLY_GOAL_RATIO}×`,
      met: applyMs <= APPLY_GOAL_MS && applyRatio >= APPLY_GOAL_RATIO,
    },
    {
      metric: `… the same through the control API (no CLI start)`,
      unit: 'ms',
      value: median(t.applyApiMs),
      baseline: null,
      ratio: null,
      spread: `${t.applyApiMs.length} rounds`,
      goal: '(info)',
      met: null,
    },
    {
      metric: `stop ${SERVICES} services → no child (vs pm2 delete)`,
      unit: 'ms',
      value: median(t.stopMs),
      baseline: median(t.pm2StopMs),
      ratio: median(stopRatios),
      spread: spread(stopRatios),
      goal: `≤ ${STOP_GOAL_MS} ms`,
      met: median(t.stopMs) <= STOP_GOAL_MS,
    },
  ];
}

// ── restart overhead ──────────────────────────────────────────────────────────────────

const STAMP_C = `#include <stdio.h>
#include <time.h>
static long long now(void) {
  struct timespec ts; clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}
int main(int argc, char **argv) {
  FILE *f = fopen(argv[1], "a"); if (!f) return 2;
  fprintf(f, "S %lld\\n", now()); fflush(f);
  fprintf(f, "E %lld\\n", now()); fclose(f);
  return 1;
}
`;

/** Waits for more than `n` starts; the command's state when it stops restarting first. */
async function restartsOrStuck(e: Env, count: () => number, n: number): Promise<string | null> {
  const end = nowMs() + 120_000;
  while (count() <= n) {
    const reply = await requestJson<{ state: string }>(
      e.socket,
      'GET',
      '/v1/workspaces/rs/commands/stamp',
    );
    const state = reply.status === 200 ? reply.body.state : 'missing';
    if (['crash-loop', 'gave-up', 'exited', 'missing'].includes(state)) return state;
    if (nowMs() > end) throw new Error(`restart overhead: ${n} restarts not within 120 s`);
    await sleep(20);
  }
  return null;
}

const percentile = (sorted: number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? Number.NaN;

async function restartOverhead(ctx: ApplyBenchContext, e: Env): Promise<Row[]> {
  const stamp = join(e.dir, 'start-exit-stamp');
  try {
    writeFileSync(`${stamp}.c`, STAMP_C);
    execFileSync('cc', ['-O2', '-o', stamp, `${stamp}.c`]);
  } catch {
    ctx.log('restart overhead: no C compiler for the stamp fixture; skipped');
    return [];
  }
  const out = join(e.dir, 'stamps.txt');
  const restarts = ctx.quick ? 20 : 60;
  const file = join(e.dir, 'restart.toml');
  writeFileSync(
    file,
    '[[workspaces]]\nlabel = "rs"\n[[services]]\nlabel = "stamp"\nworkspace = "rs"\n' +
      `exec = "${stamp}"\nargv = ["${out}"]\nrestart = "on-failure"\n` +
      `backoff_ms = ${RESTART_BACKOFF_MS}\nmax_backoff_ms = ${RESTART_BACKOFF_MS}\n` +
      'crash_loop_max = 100000\ncrash_loop_window_ms = 1000\n',
  );
  await run(process.execPath, [bin, 'apply', file], e.env);
  const starts = () => (existsSync(out) ? readFileSync(out, 'utf8').split('\n') : []);
  const startCount = () => starts().filter((l) => l[0] === 'S').length;
  const stuck = await restartsOrStuck(e, startCount, restarts);
  await requestJson(e.socket, 'POST', '/v1/workspaces/rs/stop', { graceMs: 0 });
  if (stuck !== null) {
    ctx.log(`restart overhead: the service went ${stuck} (crash_loop_max not honoured); skipped`);
    return [];
  }
  const stamps = starts()
    .filter((l) => l !== '')
    .map((l) => [l[0], BigInt(l.slice(2))] as const);
  const overhead: number[] = [];
  for (let i = 1; i + 1 < stamps.length; i += 2) {
    const [kind, exitNs] = stamps[i]!;
    const [nextKind, startNs] = stamps[i + 1]!;
    if (kind !== 'E' || nextKind !== 'S') continue;
    overhead.push(Number(startNs - exitNs) / 1e6 - RESTART_BACKOFF_MS);
  }
  overhead.sort((a, b) => a - b);
  const med = percentile(overhead, 50);
  const p99 = percentile(overhead, 99);
  ctx.log(`restart overhead: median ${med.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms`);
  const row = (metric: string, value: number): Row => ({
    metric,
    unit: 'ms',
    value,
    baseline: null,
    ratio: null,
    spread: `${overhead.length} restarts, backoff ${RESTART_BACKOFF_MS} ms`,
    goal: '(info)',
    met: null,
  });
  return [row('service restart beyond backoff, median', med), row('… p99', p99)];
}

// ── suite ─────────────────────────────────────────────────────────────────────────────

export async function applySuite(ctx: ApplyBenchContext): Promise<Row[]> {
  if (!existsSync(join(root, 'dist', 'adapters', 'daemon', 'main.js'))) {
    ctx.log('apply: dist/ missing (npm run build); skipped');
    return [];
  }
  const dir = mkdtempSync(join(tmpdir(), 'shipote-bench-apply-'));
  let e: Env | null = null;
  try {
    e = await startShipote(dir);
    await run(process.execPath, [pm2Bin, 'ping'], pm2Env(dir));
    const t = await rounds(ctx, e, dir);
    return [...rows(t), ...(await restartOverhead(ctx, e))];
  } finally {
    await stopAll(dir, e);
  }
}

async function stopAll(dir: string, e: Env | null): Promise<void> {
  if (existsSync(join(dir, 'pm2', 'pm2.pid'))) {
    await run(process.execPath, [pm2Bin, 'kill'], pm2Env(dir)).catch(() => undefined);
  }
  const daemon = e?.daemon;
  if (daemon && daemon.exitCode === null) {
    const gone = new Promise((r) => daemon.once('exit', r));
    daemon.kill('SIGTERM');
    await Promise.race([gone, sleep(10_000)]);
    if (daemon.exitCode === null) daemon.kill('SIGKILL');
  }
  rmSync(dir, { recursive: true, force: true });
}

async function main(): Promise<void> {
  const args = new Set(process.argv.slice(2));
  const log = (s: string) => process.stderr.write(`${s}\n`);
  const result = await applySuite({ quick: args.has('--quick'), log });
  if (args.has('--json')) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else {
    const { printTable } = await import('./table.js');
    printTable(result);
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((error: unknown) => {
    process.stderr.write(`apply bench failed: ${error instanceof Error ? error.stack : error}\n`);
    process.exit(1);
  });
}
