/**
 * `npm run sim`: the deterministic simulator's command line.
 *
 *   npm run sim                         run the default campaign (about a minute)
 *   npm run sim -- --seeds 2000         run 2000 seeds from --from (default 1)
 *   npm run sim -- --random             start at a random seed (VOPR-style exploration)
 *   npm run sim -- --seed 42            replay one seed verbosely (its whole trace)
 *   npm run sim -- --seed 42 --keep 0,3,9   replay the shrunk workload of a failure
 *   npm run sim -- --digests FILE      write each seed's digest (determinism proof) to FILE
 *   npm run sim -- --canary             inject a broken policy: must be caught (exit ≠ 0)
 *   npm run sim -- --jobs 1             run the seeds in this thread (default: one worker
 *                                       thread per processor; the report is the same)
 *
 * Exit codes: 0 all seeds passed; one code per failure class (see checkers/types.ts);
 * 1 usage or internal error, or a canary that escaped.
 */

import { randomInt } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Command, InvalidArgumentError } from 'commander';
import { createSupervisor } from '../core/engine/supervisor.js';
import { type CampaignSummary, runCampaign } from './campaign.js';
import { CANARY_OPTIONS } from './canary.js';
import { EXIT_CODES } from './checkers/index.js';
import { runCampaignParallel } from './parallel.js';
import { createProgress } from './progress.js';
import { printFailures, printReplay, printSummary } from './report.js';
import { runSeed } from './runner.js';

const DEFAULT_SEEDS = 2000;
const CANARY_SEEDS_MAX = 200;

function integer(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0)
    throw new InvalidArgumentError(`expected a non-negative integer, got "${value}"`);
  return n;
}

function positive(value: string): number {
  const n = integer(value);
  if (n === 0) throw new InvalidArgumentError(`expected at least 1, got "${value}"`);
  return n;
}

function indices(value: string): number[] {
  return value
    .split(',')
    .filter((s) => s !== '')
    .map(integer);
}

interface CliOptions {
  seeds: number;
  from: number;
  seed?: number;
  keep?: number[];
  canary: boolean;
  shrink: boolean;
  random: boolean;
  digests?: string;
  jobs: number;
}

async function replay(options: CliOptions & { seed: number }): Promise<number> {
  const keep = options.keep ? new Set(options.keep) : null;
  const result = await runSeed({
    seed: options.seed,
    createSupervisor,
    keep,
    trace: true,
    echo: (line) => process.stdout.write(`${line}\n`),
    ...(options.canary ? { supervisorOptions: CANARY_OPTIONS } : {}),
  });
  printReplay(result);
  return result.violation?.exitCode ?? 0;
}

async function campaign(options: CliOptions): Promise<number> {
  const count = options.canary ? CANARY_SEEDS_MAX : options.seeds;
  const progress = createProgress(count, options.canary ? 'canary' : 'sim');
  const supervisorOptions = options.canary ? CANARY_OPTIONS : undefined;
  const digests: string[] = [];
  const common = {
    fromSeed: options.from,
    count,
    stopAtFirst: options.canary,
    onSeed: (done: number, s: CampaignSummary) => progress.update(done, s),
    ...(options.digests
      ? { onDigest: (seed: number, d: string) => digests.push(`${seed} ${d}\n`) }
      : {}),
  };
  const summary =
    options.jobs === 1
      ? await runCampaign({
          ...common,
          createSupervisor,
          ...(supervisorOptions ? { supervisorOptions } : {}),
        })
      : await runCampaignParallel({
          ...common,
          jobs: options.jobs,
          policy: options.canary ? 'canary' : 'engine',
        });
  progress.stop();
  if (options.digests) writeFileSync(options.digests, digests.join(''));
  printSummary(summary);
  if (summary.failures.length === 0) {
    if (!options.canary) return 0;
    process.stderr.write(`CANARY ESCAPED: a broken policy ran ${summary.seeds} seeds unnoticed\n`);
    return 1;
  }
  await printFailures(summary, {
    createSupervisor,
    shrink: options.shrink,
    canary: options.canary,
    ...(supervisorOptions ? { supervisorOptions } : {}),
  });
  if (options.canary) process.stdout.write('canary caught: the checkers fired as they must\n');
  return summary.failures[0]?.violation?.exitCode ?? 1;
}

async function main(): Promise<number> {
  const program = new Command('sim')
    .description('deterministic simulation of the shipote engine under faults')
    .option('--seeds <n>', 'number of seeds to run', integer, DEFAULT_SEEDS)
    .option('--from <seed>', 'first seed of the campaign', integer, 1)
    .option('--seed <seed>', 'replay one seed verbosely', integer)
    .option('--keep <indices>', 'with --seed: run only these workload operations', indices)
    .option('--canary', 'inject a deliberately broken policy; must be caught', false)
    .option('--no-shrink', 'do not shrink failing seeds')
    .option('--digests <file>', "write each seed's digest to this file, one line per seed")
    .option('--jobs <n>', 'worker threads (1: in this thread)', positive, availableParallelism())
    .option('--random', 'start the campaign at a random seed (printed, for replay)', false)
    .addHelpText(
      'after',
      `\nExit codes: ${Object.entries(EXIT_CODES)
        .map(([k, v]) => `${v} ${k}`)
        .join(', ')}; 1 usage or internal error, or an escaped canary.\n`,
    );
  program.parse();
  const options = program.opts<CliOptions>();
  if (options.seed !== undefined) return replay({ ...options, seed: options.seed });
  if (options.random) {
    options.from = randomInt(0, 2 ** 40);
    process.stdout.write(`random campaign from seed ${options.from} (--from ${options.from})\n`);
  }
  return campaign(options);
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(
      `sim: internal error: ${error instanceof Error ? (error.stack ?? error.message) : error}\n`,
    );
    process.exitCode = 1;
  },
);
