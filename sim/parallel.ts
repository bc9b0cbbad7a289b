/**
 * The campaign over worker threads. Seeds are independent (each builds its world from its
 * own number), so `jobs` workers take chunks of consecutive seeds as they become free, and
 * this thread merges the results strictly in seed order: the summary, the failures, the
 * digests and where a `stopAtFirst` campaign stops are those of the one-thread campaign
 * (campaign.ts), whatever the number of workers or the order in which they finish.
 */

import { cpuUsage } from 'node:process';
import { Worker } from 'node:worker_threads';
import {
  addResult,
  type CampaignOptions,
  type CampaignSummary,
  emptySummary,
  stampTimes,
} from './campaign.js';
import type { PolicyChoice } from './canary.js';
import type { RunResult } from './runner.js';

export interface ParallelCampaignOptions
  extends Pick<CampaignOptions, 'fromSeed' | 'count' | 'stopAtFirst' | 'onDigest' | 'onSeed'> {
  /** Worker threads, at least 1. */
  jobs: number;
  policy: PolicyChoice;
}

export interface WorkerInit {
  policy: PolicyChoice;
  digest: boolean;
  stopAtFirst: boolean;
}
export interface ChunkRequest {
  fromSeed: number;
  count: number;
}
export interface ChunkReply {
  fromSeed: number;
  results: RunResult[];
}

/** Chunks small enough to balance the workers' load, large enough to keep messages rare. */
const CHUNKS_PER_JOB = 16;
const CHUNK_SEEDS_MAX = 8;

/**
 * The worker's entry: its TypeScript source through tsx (jest), or the compiled file beside
 * this one (dist/, or the bundle `npm run sim` runs: scripts/sim.mjs).
 */
function startWorker(init: WorkerInit): Worker {
  const options = { workerData: init };
  const source = import.meta.url.endsWith('.ts');
  const entry = new URL(`./campaign-worker.${source ? 'ts' : 'js'}`, import.meta.url).href;
  if (!source) return new Worker(new URL(entry), options);
  // A worker does not inherit the main thread's loader: it registers tsx's own first.
  const tsx = import.meta.resolve?.('tsx/esm/api') ?? 'tsx/esm/api';
  const boot =
    `import(${JSON.stringify(tsx)})` +
    `.then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(boot, { ...options, eval: true });
}

export async function runCampaignParallel(
  options: ParallelCampaignOptions,
): Promise<CampaignSummary> {
  const startedMs = Date.now();
  const startedCpu = cpuUsage();
  const jobs = Math.max(1, Math.min(options.jobs, options.count));
  const summary = emptySummary(jobs);
  if (options.count === 0) return summary;
  const chunkSeeds = Math.max(
    1,
    Math.min(CHUNK_SEEDS_MAX, Math.ceil(options.count / (jobs * CHUNKS_PER_JOB))),
  );
  const init: WorkerInit = {
    policy: options.policy,
    digest: options.onDigest !== undefined,
    stopAtFirst: options.stopAtFirst ?? false,
  };
  const workers = Array.from({ length: jobs }, () => startWorker(init));
  try {
    await new Promise<void>((resolve, reject) => {
      const arrived = new Map<number, RunResult>();
      let sent = 0;
      let merged = 0;
      const feed = (worker: Worker): void => {
        if (sent >= options.count) return;
        const count = Math.min(chunkSeeds, options.count - sent);
        worker.postMessage({ fromSeed: options.fromSeed + sent, count } satisfies ChunkRequest);
        sent += count;
      };
      const merge = (): boolean => {
        for (;;) {
          const result = arrived.get(options.fromSeed + merged);
          if (result === undefined) return merged >= options.count;
          arrived.delete(result.seed);
          if (result.digest !== null) options.onDigest?.(result.seed, result.digest);
          addResult(summary, result);
          merged += 1;
          options.onSeed?.(merged, summary);
          if (options.stopAtFirst && result.violation !== null) return true;
        }
      };
      for (const worker of workers) {
        worker.on('message', (reply: ChunkReply) => {
          for (const result of reply.results) arrived.set(result.seed, result);
          if (merge()) resolve();
          else feed(worker);
        });
        worker.on('error', reject);
        worker.on('exit', (code) => {
          if (code !== 0) reject(new Error(`sim worker exited with code ${code}`));
        });
        feed(worker);
      }
    });
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  stampTimes(summary, startedMs, startedCpu);
  return summary;
}
