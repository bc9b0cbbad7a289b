/**
 * `npx tsx bench/idle.ts [--settle-ms N] [--window-ms N] [--json]`: the daemon at idle with
 * 10 sleeping commands against a bare Node process (`node -e 'setInterval(()=>{},1e9)'`)
 * started in the same run. Both settle (15 s, then until the daemon has been quiet for 5 s:
 * see `quiet`), then a window (30 s) is measured with public
 * tools only: RSS from /proc/<pid>/status (VmRSS, RssAnon, RssFile; `ps -o rss` beside it),
 * CPU ticks from /proc/<pid>/stat, and voluntary + nonvoluntary context switches summed over
 * /proc/<pid>/task/<tid>/status (every wakeup of any thread shows there).
 * Goals (the issue): RSS within 10 MiB of bare Node; no wakeup over the window (each
 * wakeup is at least one voluntary switch of some thread); a second table breaks the
 * switches down per thread (tid and name) so a wakeup says where it comes from.
 * Runs what `npm run build` produced (dist/, and the daemon bundle when it is fresh).
 * The daemon runs on a temp socket and state with SHIPOTE_CGROUPS=off (never the host's
 * cgroup tree); everything is stopped and removed at the end, also on failure or Ctrl-C.
 */

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Table from 'cli-table3';
import { socketAnswers } from '../adapters/control/client.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'bin', 'shipote.cjs');
const COMMANDS = 10;
const RSS_GOAL_KIB = 10 * 1024;
const WAKEUPS_GOAL = 0;

interface ThreadSwitches {
  name: string;
  voluntary: number;
  nonvoluntary: number;
}

interface Probe {
  /** utime + stime, clock ticks. */
  cpuTicks: number;
  ctxSwitches: number;
  /** Per thread id. */
  threads: Map<string, ThreadSwitches>;
  vmRssKiB: number;
  rssAnonKiB: number;
  rssFileKiB: number;
  psRssKiB: number;
}

function statusField(text: string, name: string): number {
  const m = new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

function probe(pid: number): Probe {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the `(comm)`: state is field 3, utime 14, stime 15.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpuTicks = Number(rest[11]) + Number(rest[12]);
  let ctxSwitches = 0;
  const threads = new Map<string, ThreadSwitches>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const s = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
      const name = /^Name:\s+(.*)$/m.exec(s)?.[1] ?? '?';
      const voluntary = statusField(s, 'voluntary_ctxt_switches');
      const nonvoluntary = statusField(s, 'nonvoluntary_ctxt_switches');
      threads.set(tid, { name, voluntary, nonvoluntary });
      ctxSwitches += voluntary + nonvoluntary;
    } catch {
      // A thread that ended between readdir and read.
    }
  }
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const ps = execFileSync('ps', ['-o', 'rss=', '-p', String(pid)], { encoding: 'utf8' });
  return {
    cpuTicks,
    ctxSwitches,
    threads,
    vmRssKiB: statusField(status, 'VmRSS'),
    rssAnonKiB: statusField(status, 'RssAnon'),
    rssFileKiB: statusField(status, 'RssFile'),
    psRssKiB: Number(ps.trim()),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, ok: () => Promise<boolean>, deadlineMs: number) {
  const until = Date.now() + deadlineMs;
  while (Date.now() < until) {
    if (await ok()) return;
    await sleep(50);
  }
  throw new Error(`${what}: not within ${deadlineMs} ms`);
}

interface Run {
  dir: string;
  env: NodeJS.ProcessEnv;
  daemon: ChildProcess | null;
  bare: ChildProcess | null;
}

function cli(run: Run, ...args: string[]): string {
  return execFileSync(process.execPath, [bin, ...args], { env: run.env, encoding: 'utf8' });
}

async function start(run: Run): Promise<void> {
  const socket = run.env.SHIPOTE_SOCKET as string;
  const log = openSync(join(run.dir, 'daemon.log'), 'a');
  run.daemon = spawn(process.execPath, [bin, 'daemon'], {
    env: run.env,
    stdio: ['ignore', log, log],
  });
  run.bare = spawn(process.execPath, ['-e', 'setInterval(()=>{},1e9)'], { stdio: 'ignore' });
  await waitFor('daemon answers', () => socketAnswers(socket), 15_000);
  const spec = join(run.dir, 'idle.toml');
  writeFileSync(spec, 'label = "idle"\n');
  cli(run, 'workspace', 'create', spec);
  for (let i = 0; i < COMMANDS; i++) cli(run, 'run', 'idle', '--', 'sleep', '3600');
}

async function cleanup(run: Run): Promise<void> {
  const { daemon, bare } = run;
  if (daemon?.exitCode === null) {
    try {
      cli(run, 'workspace', 'stop', 'idle', '--grace', '0');
    } catch {
      // No workspace (start failed early): the daemon's shutdown ends its children anyway.
    }
    const exited = new Promise((r) => daemon.once('exit', r));
    daemon.kill('SIGTERM');
    await Promise.race([exited, sleep(5000)]);
    if (daemon.exitCode === null) daemon.kill('SIGKILL');
  }
  if (bare?.exitCode === null) bare.kill('SIGTERM');
  rmSync(run.dir, { recursive: true, force: true });
}

interface Measured {
  windowMs: number;
  clkTck: number;
  before: { daemon: Probe; bare: Probe };
  after: { daemon: Probe; bare: Probe };
}

/**
 * Start-up leaves one-off work behind (the loop-delay histogram runs 10 s past the last
 * request, V8 shrinks its heap with a few GCs after activity): the window starts once a
 * `QUIET_MS` stretch passed without a context switch, or after `QUIET_WAIT_MS_MAX` anyway
 * (said on stderr either way, so a daemon that never goes quiet shows in the table).
 */
const QUIET_MS = 5000;
const QUIET_WAIT_MS_MAX = 60_000;

async function quiet(pid: number, settleMs: number): Promise<void> {
  const startMs = Date.now();
  while (Date.now() - startMs < QUIET_WAIT_MS_MAX) {
    const before = probe(pid).ctxSwitches;
    await sleep(QUIET_MS);
    if (probe(pid).ctxSwitches === before) {
      const afterMs = settleMs + Date.now() - startMs;
      process.stderr.write(`idle: daemon quiet for ${QUIET_MS} ms at ${afterMs} ms\n`);
      return;
    }
  }
  process.stderr.write(`idle: daemon not quiet within ${QUIET_WAIT_MS_MAX} ms more\n`);
}

async function measure(run: Run, settleMs: number, windowMs: number): Promise<Measured> {
  const daemonPid = run.daemon?.pid as number;
  const barePid = run.bare?.pid as number;
  process.stderr.write(`idle: settling ${settleMs} ms, then measuring ${windowMs} ms\n`);
  await sleep(settleMs);
  await quiet(daemonPid, settleMs);
  const before = { daemon: probe(daemonPid), bare: probe(barePid) };
  await sleep(windowMs);
  const after = { daemon: probe(daemonPid), bare: probe(barePid) };
  const clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
  return { windowMs, clkTck, before, after };
}

interface Line {
  metric: string;
  unit: string;
  daemon: number;
  bare: number;
  goal: string;
  met: boolean | null;
}

function lines(m: Measured): Line[] {
  const { before, after, windowMs } = m;
  const mib = (kib: number) => kib / 1024;
  type RssKey = 'vmRssKiB' | 'psRssKiB' | 'rssAnonKiB' | 'rssFileKiB';
  const rss = (metric: string, key: RssKey, goal: boolean): Line => ({
    metric,
    unit: 'MiB',
    daemon: mib(after.daemon[key]),
    bare: mib(after.bare[key]),
    goal: goal ? `Δ ≤ ${mib(RSS_GOAL_KIB)} MiB` : '',
    met: goal ? after.daemon[key] - after.bare[key] <= RSS_GOAL_KIB : null,
  });
  const delta = (who: 'daemon' | 'bare', key: 'cpuTicks' | 'ctxSwitches') =>
    after[who][key] - before[who][key];
  const msPerTick = 1000 / m.clkTck;
  return [
    rss('RSS (VmRSS)', 'vmRssKiB', true),
    rss('RSS (ps -o rss)', 'psRssKiB', false),
    rss('RssAnon', 'rssAnonKiB', false),
    rss('RssFile', 'rssFileKiB', false),
    {
      metric: `CPU over ${windowMs / 1000} s`,
      unit: 'ms',
      daemon: delta('daemon', 'cpuTicks') * msPerTick,
      bare: delta('bare', 'cpuTicks') * msPerTick,
      goal: '',
      met: null,
    },
    {
      metric: `ctx switches over ${windowMs / 1000} s`,
      unit: 'count',
      daemon: delta('daemon', 'ctxSwitches'),
      bare: delta('bare', 'ctxSwitches'),
      goal: `daemon ≤ ${WAKEUPS_GOAL}`,
      met: delta('daemon', 'ctxSwitches') <= WAKEUPS_GOAL,
    },
  ];
}

function print(rows: Line[]): void {
  const head = ['metric', 'unit', 'daemon', 'bare node', 'Δ', 'goal', 'met'];
  const table = new Table({ head, style: { head: [], border: [] } });
  const fmt = (v: number, unit: string) => (unit === 'count' ? v.toFixed(0) : v.toFixed(1));
  for (const r of rows) {
    const d = r.daemon - r.bare;
    const met = r.met === null ? '—' : r.met ? 'yes' : 'NO';
    const sign = d >= 0 ? '+' : '';
    const cells = [r.metric, r.unit, fmt(r.daemon, r.unit), fmt(r.bare, r.unit)];
    table.push([...cells, `${sign}${fmt(d, r.unit)}`, r.goal || '—', met]);
  }
  process.stdout.write(`${table.toString()}\n`);
}

interface ThreadLine {
  tid: string;
  name: string;
  voluntary: number;
  nonvoluntary: number;
}

/** The daemon's switches over the window, per thread (threads born in it count from 0). */
function threadLines(m: Measured): ThreadLine[] {
  const out: ThreadLine[] = [];
  for (const [tid, t] of m.after.daemon.threads) {
    const was = m.before.daemon.threads.get(tid);
    const voluntary = t.voluntary - (was?.voluntary ?? 0);
    const nonvoluntary = t.nonvoluntary - (was?.nonvoluntary ?? 0);
    out.push({ tid, name: t.name, voluntary, nonvoluntary });
  }
  return out;
}

function printThreads(threads: ThreadLine[]): void {
  const head = ['daemon thread', 'name', 'voluntary', 'nonvoluntary'];
  const table = new Table({ head, style: { head: [], border: [] } });
  for (const t of threads) table.push([t.tid, t.name, t.voluntary, t.nonvoluntary]);
  process.stdout.write(`${table.toString()}\n`);
}

function numberArg(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  const value = i >= 0 ? Number(args[i + 1]) : fallback;
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} needs an integer`);
  return value;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const settleMs = numberArg(args, '--settle-ms', 15_000);
  const windowMs = numberArg(args, '--window-ms', 30_000);
  const dir = mkdtempSync(join(tmpdir(), 'shipote-idle-'));
  const env = {
    ...process.env,
    SHIPOTE_SOCKET: join(dir, 'shipote.sock'),
    SHIPOTE_STATE: join(dir, 'state.json'),
    SHIPOTE_NO_AUTOSTART: '1',
    SHIPOTE_CGROUPS: 'off',
  };
  const run: Run = { dir, env, daemon: null, bare: null };
  const onSignal = () => void cleanup(run).then(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await start(run).catch((e: unknown) => {
      const log = readFileSync(join(dir, 'daemon.log'), 'utf8');
      process.stderr.write(`idle: daemon log:\n${log}`);
      throw e;
    });
    const measured = await measure(run, settleMs, windowMs);
    const rows = lines(measured);
    const threads = threadLines(measured);
    if (args.includes('--json')) {
      process.stdout.write(`${JSON.stringify({ rows, threads }, null, 2)}\n`);
    } else {
      print(rows);
      printThreads(threads);
    }
  } finally {
    await cleanup(run);
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`idle bench failed: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
