/** Runs many seeds and aggregates what the summary prints. */

import { cpuUsage } from 'node:process';
import type { CreateSupervisor, SupervisorOptions } from '../core/engine/api.js';
import type { LeftoversRule } from '../core/policy/leftovers.js';
import { type RunResult, runSeed } from './runner.js';

export interface CampaignOptions {
  fromSeed: number;
  count: number;
  createSupervisor: CreateSupervisor;
  supervisorOptions?: SupervisorOptions;
  /** The start-up sweep's rule (a test seam for mutants). */
  leftovers?: LeftoversRule;
  /** Stop at the first violation (the canary). */
  stopAtFirst?: boolean;
  /** Called with each seed's digest (digest.ts); digests are computed only when given. */
  onDigest?: (seed: number, digest: string) => void;
  /** After each seed, with the summary so far (its times are stamped at the end only). */
  onSeed?: (done: number, summary: CampaignSummary) => void;
}

export interface CampaignSummary {
  seeds: number;
  lifecycles: number;
  checks: number;
  steps: number;
  daemonCrashes: number;
  simMs: number;
  wallMs: number;
  /** CPU time (user + system) of the whole process, every worker thread included. */
  cpuMs: number;
  /** Worker threads that ran the seeds; 1 = in this thread. */
  jobs: number;
  faults: Map<string, number>;
  coverage: Map<string, number>;
  failures: RunResult[];
}

export function emptySummary(jobs: number): CampaignSummary {
  return {
    seeds: 0,
    lifecycles: 0,
    checks: 0,
    steps: 0,
    daemonCrashes: 0,
    simMs: 0,
    wallMs: 0,
    cpuMs: 0,
    jobs,
    faults: new Map(),
    coverage: new Map(),
    failures: [],
  };
}

/** Adds one seed's result; results must be added in seed order for the report to match. */
export function addResult(summary: CampaignSummary, result: RunResult): void {
  summary.seeds += 1;
  summary.lifecycles += result.lifecycles;
  summary.checks += result.checks;
  summary.steps += result.steps;
  summary.daemonCrashes += result.daemonCrashes;
  summary.simMs += result.simMs;
  for (const [kind, n] of result.faults)
    summary.faults.set(kind, (summary.faults.get(kind) ?? 0) + n);
  for (const [what, n] of result.coverage) {
    summary.coverage.set(what, (summary.coverage.get(what) ?? 0) + n);
  }
  if (result.violation !== null) summary.failures.push(result);
}

/** Wall and CPU time since `startedMs` / `startedCpu` (the whole process's rusage). */
export function stampTimes(
  summary: CampaignSummary,
  startedMs: number,
  startedCpu: NodeJS.CpuUsage,
): void {
  const cpu = cpuUsage(startedCpu);
  summary.wallMs = Date.now() - startedMs;
  summary.cpuMs = Math.round((cpu.user + cpu.system) / 1000);
}

export async function runCampaign(options: CampaignOptions): Promise<CampaignSummary> {
  const startedMs = Date.now();
  const startedCpu = cpuUsage();
  const summary = emptySummary(1);
  for (let i = 0; i < options.count; i++) {
    const result = await runSeed({
      seed: options.fromSeed + i,
      createSupervisor: options.createSupervisor,
      digest: options.onDigest !== undefined,
      ...(options.supervisorOptions ? { supervisorOptions: options.supervisorOptions } : {}),
      ...(options.leftovers ? { leftovers: options.leftovers } : {}),
    });
    if (result.digest !== null) options.onDigest?.(result.seed, result.digest);
    addResult(summary, result);
    options.onSeed?.(i + 1, summary);
    if (options.stopAtFirst && result.violation !== null) break;
  }
  stampTimes(summary, startedMs, startedCpu);
  return summary;
}
