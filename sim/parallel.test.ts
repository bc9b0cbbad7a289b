import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createSupervisor } from '../core/engine/supervisor.js';
import { type CampaignSummary, runCampaign } from './campaign.js';
import { CANARIES } from './canary.js';
import { EXIT_CODES } from './checkers/index.js';
import { runCampaignParallel } from './parallel.js';

const SLOW_MS = 120_000;
const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** What the report prints, without the figures that depend on the machine. */
function comparable(s: CampaignSummary) {
  const { wallMs: _w, cpuMs: _c, jobs: _j, ...rest } = s;
  return rest;
}

/** `npm run sim -- ARGS`: its exit status, and its stdout without the two timing lines. */
function sim(...args: string[]): { status: number | null; report: string[] } {
  const launcher = join(ROOT, 'scripts', 'sim.mjs');
  const run = spawnSync(process.execPath, [launcher, ...args], { cwd: ROOT, encoding: 'utf8' });
  const timing = /^(process lifecycles|simulated time):/;
  return { status: run.status, report: run.stdout.split('\n').filter((l) => !timing.test(l)) };
}

describe('the parallel campaign', () => {
  it(
    'gives the one-thread summary and digests, in seed order, with 3 workers',
    async () => {
      const serial: string[] = [];
      const parallel: string[] = [];
      const a = await runCampaign({
        fromSeed: 7,
        count: 14,
        createSupervisor,
        onDigest: (seed, d) => serial.push(`${seed} ${d}`),
      });
      const b = await runCampaignParallel({
        fromSeed: 7,
        count: 14,
        jobs: 3,
        policy: 'engine',
        onDigest: (seed, d) => parallel.push(`${seed} ${d}`),
      });
      expect(b.jobs).toBe(3);
      expect(comparable(b)).toEqual(comparable(a));
      expect(parallel).toEqual(serial);
      expect(parallel.map((l) => Number(l.split(' ')[0]))).toEqual(
        Array.from({ length: 14 }, (_, i) => 7 + i),
      );
    },
    SLOW_MS,
  );

  it(
    "reports a worker's violation with its seed and exit code, stopping where one thread does",
    async () => {
      const name = 'restart-on-exit-0';
      const a = await runCampaign({
        fromSeed: 1,
        count: 300,
        createSupervisor,
        supervisorOptions: CANARIES[name],
        stopAtFirst: true,
      });
      const b = await runCampaignParallel({
        fromSeed: 1,
        count: 300,
        jobs: 2,
        policy: name,
        stopAtFirst: true,
      });
      expect(b.failures.length).toBe(1);
      expect(b.failures[0]?.violation?.exitCode).toBe(EXIT_CODES.decision);
      expect(b.failures[0]?.seed).toBe(a.failures[0]?.seed);
      expect(comparable(b)).toEqual(comparable(a));
    },
    SLOW_MS,
  );
});

describe('npm run sim --jobs', () => {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'shipote-sim-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it(
    'prints the same report and writes the same digest file with --jobs 1 and --jobs 2',
    () => {
      const one = sim('--seeds', '12', '--jobs', '1', '--digests', join(dir, 'one'));
      const two = sim('--seeds', '12', '--jobs', '2', '--digests', join(dir, 'two'));
      expect(one.status).toBe(0);
      expect(two.report).toEqual(one.report);
      expect(two.status).toBe(0);
      const digests = readFileSync(join(dir, 'one'), 'utf8');
      expect(digests.split('\n')).toHaveLength(13);
      expect(readFileSync(join(dir, 'two'), 'utf8')).toBe(digests);
    },
    SLOW_MS,
  );

  it(
    'runs the very simulator of the sources: the bundle writes the digests computed here',
    async () => {
      const here: string[] = [];
      await runCampaign({
        fromSeed: 1,
        count: 12,
        createSupervisor,
        onDigest: (seed, d) => here.push(`${seed} ${d}\n`),
      });
      const run = sim('--seeds', '12', '--digests', join(dir, 'bundle'));
      expect(run.status).toBe(0);
      expect(readFileSync(join(dir, 'bundle'), 'utf8')).toBe(here.join(''));
    },
    SLOW_MS,
  );

  it(
    'catches the canary in a worker: the failing seed, its replay lines and its exit code',
    () => {
      const one = sim('--canary', '--jobs', '1');
      const two = sim('--canary', '--jobs', '2');
      expect(one.status).toBe(EXIT_CODES.decision);
      expect(two.status).toBe(one.status);
      expect(two.report).toEqual(one.report);
      expect(two.report).toContain('canary caught: the checkers fired as they must');
      expect(two.report.some((l) => l.includes('replay: npm run sim -- --seed'))).toBe(true);
    },
    SLOW_MS,
  );
});
