/** Data-plane measurements: a plain edge vs a shell pipe, fan-out vs Node streams. */

import { spawn as cpSpawn } from 'node:child_process';
import { createLinuxKernel } from '../adapters/linux/index.js';
import type { GroupRequest } from '../core/ports.js';
import { describePaired, paired, pairedRow } from './rounds.js';
import type { BenchContext, Row } from './suites.js';
import { Exits, proc } from './suites.js';

const GB = 1e9;
const nowNs = (): bigint => process.hrtime.bigint();

async function adapterGroup(
  ctx: BenchContext,
  exits: Exits,
  key: string,
  g: GroupRequest,
): Promise<number> {
  const t0 = nowNs();
  const r = ctx.kernel.spawnGroup(key, g);
  if (!r.ok) throw new Error(r.error.message);
  await Promise.all(r.value.pids.map((pid) => exits.wait(pid)));
  const secs = Number(nowNs() - t0) / 1e9;
  ctx.kernel.release(key);
  return secs;
}

/**
 * The baseline a user would run: sh's own pipe (kernel default size, 64 KiB) between the two
 * children; the span is the same as ours, from spawn to the last exit observed.
 */
async function shellPipe(bytes: number): Promise<number> {
  const t0 = nowNs();
  const sh = cpSpawn('/bin/sh', ['-c', `head -c ${bytes} /dev/zero | cat >/dev/null`], {
    stdio: 'ignore',
  });
  await new Promise((resolve) => sh.once('exit', resolve));
  return Number(nowNs() - t0) / 1e9;
}

async function nodeFanOut(bytes: number): Promise<number> {
  const t0 = nowNs();
  const head = cpSpawn('head', ['-c', String(bytes), '/dev/zero'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const sinks = [0, 1].map(() =>
    cpSpawn('/bin/sh', ['-c', 'exec cat >/dev/null'], { stdio: ['pipe', 'ignore', 'ignore'] }),
  );
  for (const s of sinks) head.stdout.pipe(s.stdin);
  await Promise.all([head, ...sinks].map((c) => new Promise((resolve) => c.once('exit', resolve))));
  return Number(nowNs() - t0) / 1e9;
}

const devNullCat = () => proc('/bin/sh', ['-c', 'exec cat >/dev/null']);
const head = (bytes: number) => proc('head', ['-c', String(bytes), '/dev/zero']);

const plainGroup = (bytes: number): GroupRequest => ({
  nodes: [head(bytes), devNullCat()],
  edges: [{ from: 0, fromOutput: 'stdout', to: 1 }],
  taps: [],
  maxBytesPerSec: 0,
});

/**
 * Plain edge: the adapter's bare kernel pipe between two children (no pump, no tap, kernel
 * default size like the shell's) vs a shell pipe. Info row: the same with 1 MiB pipes
 * (`pipeSizeBytes`), which the shell cannot set.
 */
async function plainEdgeRows(ctx: BenchContext, exits: Exits, rounds: number): Promise<Row[]> {
  const bytes = ctx.quick ? 256 * 2 ** 20 : 2 ** 30;
  const rate = (secs: number): number => bytes / secs / GB;
  const p = await paired(
    rounds,
    async () => rate(await adapterGroup(ctx, exits, 'bench-plain', plainGroup(bytes))),
    async () => rate(await shellPipe(bytes)),
  );
  ctx.log(`plain edge GB/s: ${describePaired(p, 2)}`);
  const big = createLinuxKernel({
    runtimeDir: ctx.runtimeDir,
    pipeSizeBytes: 1 << 20,
  });
  const bigCtx = { ...ctx, kernel: big };
  const bigExits = new Exits(big);
  const q = await paired(
    rounds,
    async () => rate(await adapterGroup(bigCtx, bigExits, 'bench-plain-1m', plainGroup(bytes))),
    async () => rate(await shellPipe(bytes)),
  );
  big.close();
  ctx.log(`plain edge, 1 MiB pipes, GB/s: ${describePaired(q, 2)}`);
  return [
    pairedRow('plain edge (head|cat)', 'GB/s', p, { text: '≥ 0.95×', ratio: 0.95 }),
    pairedRow('plain edge, 1 MiB pipes', 'GB/s', q, null),
  ];
}

const fanGroup = (bytes: number): GroupRequest => ({
  nodes: [head(bytes), devNullCat(), devNullCat()],
  edges: [
    { from: 0, fromOutput: 'stdout', to: 1 },
    { from: 0, fromOutput: 'stdout', to: 2 },
  ],
  taps: [],
  maxBytesPerSec: 0,
});

/** Fan-out 1→2: the native tee pump vs Node streams piping one stdout to two stdins. */
async function fanOutRows(ctx: BenchContext, exits: Exits, rounds: number): Promise<Row[]> {
  const bytes = ctx.quick ? 128 * 2 ** 20 : 2 ** 30;
  const rate = (secs: number): number => bytes / secs / GB;
  const p = await paired(
    rounds,
    async () => rate(await adapterGroup(ctx, exits, 'bench-fan', fanGroup(bytes))),
    async () => rate(await nodeFanOut(bytes)),
  );
  ctx.log(`fan-out 1→2 GB/s: ${describePaired(p, 2)}`);
  return [pairedRow('fan-out 1→2 (tee pump)', 'GB/s', p, { text: '≥ 2×', ratio: 2 })];
}

export async function pipeSuite(ctx: BenchContext, exits: Exits): Promise<Row[]> {
  const rounds = ctx.quick ? 3 : 5;
  const plain = await plainEdgeRows(ctx, exits, rounds);
  return [...plain, ...(await fanOutRows(ctx, exits, rounds))];
}
