/** Data-plane measurements: a plain edge vs a shell pipe, fan-out vs Node streams. */

import { spawn as cpSpawn } from 'node:child_process';
import { createLinuxKernel } from '../adapters/linux/index.js';
import type { GroupRequest } from '../core/ports.js';
import type { BenchContext, Row } from './suites.js';
import { Exits, proc } from './suites.js';

const GB = 1e9;
const nowNs = (): bigint => process.hrtime.bigint();

/** Fastest round: on a shared machine the least disturbed one (same rule for both sides). */
const fastest = (xs: number[]): number => Math.min(...xs);

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

/** Plain edge: the adapter's kernel pipe between two children vs a shell pipe. */
async function plainEdgeRows(ctx: BenchContext, exits: Exits, rounds: number): Promise<Row[]> {
  const plainBytes = ctx.quick ? 256 * 2 ** 20 : 2 ** 30;
  const big = createLinuxKernel({
    runtimeDir: ctx.runtimeDir,
    logCapacityBytes: 4096,
    pipeSizeBytes: 1 << 20,
  });
  const bigExits = new Exits(big);
  const plain: number[] = [];
  const shell: number[] = [];
  const bigPlain: number[] = [];
  // Interleaved rounds: the machine's load drifts; each side gets the same share of it.
  for (let i = 0; i < rounds * 2 - 1; i++) {
    plain.push(await adapterGroup(ctx, exits, 'bench-plain', plainGroup(plainBytes)));
    shell.push(await shellPipe(plainBytes));
    const bigCtx = { ...ctx, kernel: big };
    bigPlain.push(await adapterGroup(bigCtx, bigExits, 'bench-plain-1m', plainGroup(plainBytes)));
  }
  big.close();
  const bigGbs = plainBytes / fastest(bigPlain) / GB;
  const plainGbs = plainBytes / fastest(plain) / GB;
  const shellGbs = plainBytes / fastest(shell) / GB;
  ctx.log(
    `plain edge ${plainGbs.toFixed(2)} GB/s (1 MiB pipes ${bigGbs.toFixed(2)}) ` +
      `vs shell ${shellGbs.toFixed(2)} GB/s`,
  );
  const r1 = plainGbs / shellGbs;
  return [
    {
      metric: 'plain edge (head|cat)',
      unit: 'GB/s',
      value: plainGbs,
      baseline: shellGbs,
      ratio: r1,
      goal: '≥ 0.95×',
      met: r1 >= 0.95,
    },
    {
      metric: 'plain edge, 1 MiB pipe',
      unit: 'GB/s',
      value: bigGbs,
      baseline: shellGbs,
      ratio: bigGbs / shellGbs,
      goal: '(info)',
      met: null,
    },
  ];
}

/** Fan-out 1→2: the native tee pump vs Node streams piping one stdout to two stdins. */
async function fanOutRows(ctx: BenchContext, exits: Exits, rounds: number): Promise<Row[]> {
  const fanBytes = ctx.quick ? 128 * 2 ** 20 : 2 ** 30;
  const fan: number[] = [];
  const streams: number[] = [];
  for (let i = 0; i < rounds; i++) {
    fan.push(
      await adapterGroup(ctx, exits, 'bench-fan', {
        nodes: [head(fanBytes), devNullCat(), devNullCat()],
        edges: [
          { from: 0, fromOutput: 'stdout', to: 1 },
          { from: 0, fromOutput: 'stdout', to: 2 },
        ],
        taps: [],
        maxBytesPerSec: 0,
      }),
    );
    streams.push(await nodeFanOut(fanBytes));
  }
  const fanGbs = fanBytes / fastest(fan) / GB;
  const streamGbs = fanBytes / fastest(streams) / GB;
  ctx.log(`fan-out 1→2 ${fanGbs.toFixed(2)} GB/s vs Node streams ${streamGbs.toFixed(2)} GB/s`);
  const r2 = fanGbs / streamGbs;
  return [
    {
      metric: 'fan-out 1→2 (tee pump)',
      unit: 'GB/s',
      value: fanGbs,
      baseline: streamGbs,
      ratio: r2,
      goal: '≥ 2×',
      met: r2 >= 2,
    },
  ];
}

export async function pipeSuite(ctx: BenchContext, exits: Exits): Promise<Row[]> {
  const rounds = ctx.quick ? 1 : 3;
  const plain = await plainEdgeRows(ctx, exits, rounds);
  return [...plain, ...(await fanOutRows(ctx, exits, rounds))];
}
