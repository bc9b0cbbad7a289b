/** The measurements. Each compares the adapter with a baseline measured in the same run. */

import { spawn as cpSpawn, execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { LinuxKernel } from '../adapters/linux/index.js';
import { noNamespaces } from '../core/manifest/defaults.js';
import type { KernelEvent, ProcRequest } from '../core/ports.js';
import { describePaired, paired, pairedRow } from './rounds.js';

export interface Row {
  metric: string;
  unit: string;
  value: number;
  baseline: number | null;
  /** Median of the per-round ratios value/baseline (rates: higher is better). */
  ratio: number | null;
  /** The per-round ratios' range and the number of rounds, or another spread note. */
  spread: string | null;
  goal: string;
  met: boolean | null;
}

export interface BenchContext {
  kernel: LinuxKernel;
  runtimeDir: string;
  quick: boolean;
  /** `--suite NAME`: run that suite only (spawn, restart, pipes, workers). */
  suite?: string;
  log: (line: string) => void;
}

const nowNs = (): bigint => process.hrtime.bigint();
const secsSince = (t0: bigint): number => Number(nowNs() - t0) / 1e9;

const proc = (exec: string, argv: string[]): ProcRequest => ({
  exec,
  argv,
  envp: [],
  cwd: '',
  envelope: { rlimits: { nofile: 0, nproc: 0 }, namespaces: noNamespaces(), cgroup: null },
  notify: false,
  watchdogUs: 0,
});

/** Exit waiters keyed by pid, fed by one kernel listener. */
class Exits {
  private readonly waiters = new Map<number, (e: KernelEvent) => void>();
  constructor(kernel: LinuxKernel) {
    kernel.onEvent((e) => {
      if (e.type !== 'exit') return;
      const w = this.waiters.get(e.pid);
      if (w) {
        this.waiters.delete(e.pid);
        w(e);
      }
    });
  }
  on(pid: number, fn: (e: KernelEvent) => void): void {
    this.waiters.set(pid, fn);
  }
  wait(pid: number): Promise<KernelEvent> {
    return new Promise((resolve) => this.on(pid, resolve));
  }
}

let exits: Exits | null = null;

async function adapterSpawns(ctx: BenchContext, n: number, c: number): Promise<number> {
  const ex = exits!;
  let started = 0;
  const t0 = nowNs();
  const worker = async (): Promise<void> => {
    while (started < n) {
      started++;
      const r = ctx.kernel.spawn('bench-spawn', proc('/bin/true', []));
      if (!r.ok) throw new Error(r.error.message);
      await ex.wait(r.value.pid);
    }
  };
  await Promise.all(Array.from({ length: c }, worker));
  return n / secsSince(t0);
}

async function nodeSpawns(n: number, c: number): Promise<number> {
  let started = 0;
  const t0 = nowNs();
  const worker = async (): Promise<void> => {
    while (started < n) {
      started++;
      const child = cpSpawn('/bin/true', [], { stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.resume();
      child.stderr.resume();
      await new Promise((resolve) => child.once('exit', resolve));
    }
  };
  await Promise.all(Array.from({ length: c }, worker));
  return n / secsSince(t0);
}

const SPAWN_GOAL = { text: '≥ 2.5×', ratio: 2.5 };

/** Paired rounds of `n` spawns each at concurrency `c` (see rounds.ts). */
const spawnPair = (ctx: BenchContext, n: number, c: number) =>
  paired(
    ctx.quick ? 3 : 7,
    () => adapterSpawns(ctx, n, c),
    () => nodeSpawns(n, c),
  );

async function spawnSuite(ctx: BenchContext): Promise<Row[]> {
  const n = ctx.quick ? 200 : 400;
  const rows: Row[] = [];
  await adapterSpawns(ctx, 50, 1); // warm-up
  await nodeSpawns(50, 1);
  for (const c of [1, 8]) {
    const p = await spawnPair(ctx, n, c);
    rows.push(pairedRow(`spawn+reap c=${c}`, 'spawn/s', p, SPAWN_GOAL));
    ctx.log(`spawn c=${c}: ${describePaired(p)}`);
  }
  // The fork cost of child_process grows with the parent's memory; clone(CLONE_VM) does not.
  const before = process.memoryUsage().heapUsed;
  const ballast = Array.from({ length: 350_000 }, (_, i) => ({ i, s: `b${i}`.padEnd(64, 'x') }));
  const heldMb = Math.round((process.memoryUsage().heapUsed - before) / 2 ** 20);
  const p = await spawnPair(ctx, n, 8);
  rows.push(pairedRow(`spawn+reap c=8, +${heldMb} MB heap`, 'spawn/s', p, SPAWN_GOAL));
  ctx.log(`spawn c=8 +${heldMb} MB (${ballast.length} objects): ${describePaired(p)}`);
  return rows;
}

function compileStamp(ctx: BenchContext): string | null {
  const out = join(ctx.runtimeDir, 'exit-stamp');
  try {
    execFileSync('cc', ['-O2', '-o', out, join(import.meta.dirname, 'exit-stamp.c')]);
    return out;
  } catch {
    return null;
  }
}

const percentile = (sorted: number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? Number.NaN;

/** Restart on exit, from the handler: child's exit stamp → the next spawn returned. */
async function restartSuite(ctx: BenchContext): Promise<Row[]> {
  const stamp = compileStamp(ctx);
  if (!stamp) {
    ctx.log('exit→restart: no C compiler for the stamp fixture; skipped');
    return [];
  }
  const runs = ctx.quick ? 100 : 400;
  const doneNs: bigint[] = [];
  await new Promise<void>((resolve, reject) => {
    const next = (i: number): void => {
      const r = ctx.kernel.spawn(`stamp-${i}`, proc(stamp, []));
      doneNs[i] = nowNs();
      if (!r.ok) {
        reject(new Error(r.error.message));
        return;
      }
      exits!.on(r.value.pid, () => (i + 1 < runs ? next(i + 1) : resolve()));
    };
    next(0);
  });
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const missing = Array.from({ length: runs }, (_, i) => i).filter(
      (i) => ctx.kernel.logBytes(`stamp-${i}`).stdout === 0,
    );
    if (missing.length === 0) break;
    await new Promise((r) => setTimeout(r, 5));
  }
  const lat: number[] = [];
  for (let i = 0; i + 1 < runs; i++) {
    const text = Buffer.from(ctx.kernel.logs(`stamp-${i}`, 'stdout'))
      .toString()
      .trim();
    if (text) lat.push(Number(doneNs[i + 1]! - BigInt(text)) / 1e6);
    ctx.kernel.release(`stamp-${i}`);
  }
  lat.sort((a, b) => a - b);
  const median = percentile(lat, 50);
  const p99 = percentile(lat, 99);
  const summary = `median ${median.toFixed(3)} ms, p99 ${p99.toFixed(3)} ms`;
  ctx.log(`exit→restart: ${summary} (${lat.length} restarts)`);
  return [
    {
      metric: 'exit→restart median',
      unit: 'ms',
      value: median,
      baseline: null,
      ratio: null,
      spread: `${lat.length} restarts`,
      goal: '≤ 1 ms',
      met: median <= 1,
    },
    {
      metric: 'exit→restart p99',
      unit: 'ms',
      value: p99,
      baseline: null,
      ratio: null,
      spread: null,
      goal: '—',
      met: null,
    },
  ];
}

export { adapterSpawns, Exits, nodeSpawns, proc };

export async function runAll(ctx: BenchContext): Promise<Row[]> {
  exits = new Exits(ctx.kernel);
  const { pipeSuite } = await import('./pipes.js');
  const { captureSuite } = await import('./capture.js');
  const { applySuite } = await import('./apply.js');
  const { workerSuite } = await import('./workers.js');
  const ex = exits;
  const suites: [string, () => Promise<Row[]>][] = [
    ['spawn', () => spawnSuite(ctx)],
    ['restart', () => restartSuite(ctx)],
    ['pipes', () => pipeSuite(ctx, ex)],
    ['capture', () => captureSuite(ctx)],
    ['apply', () => applySuite(ctx)],
    ['workers', () => workerSuite(ctx)],
  ];
  const rows: Row[] = [];
  for (const [name, run] of suites)
    if (!ctx.suite || ctx.suite === name) rows.push(...(await run()));
  return rows;
}
