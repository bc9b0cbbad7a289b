/** What `npm run sim` prints: the summary, and for failures the seed, shrunk trace and replay. */

import type { CreateSupervisor, SupervisorOptions } from '../core/engine/api.js';
import type { CampaignSummary } from './campaign.js';
import { EXIT_CODES, type FailureClass } from './checkers/index.js';
import { type RunResult, runSeed } from './runner.js';
import { shrink } from './shrink.js';
import { describeOp } from './workload.js';

const TRACE_TAIL_LINES = 120;
const SHRUNK_PER_CLASS = 1;
const out = (line = ''): void => {
  process.stdout.write(`${line}\n`);
};

export function printSummary(s: CampaignSummary): void {
  const seconds = Math.max(s.wallMs, 1) / 1000;
  out(`seeds run:            ${s.seeds}`);
  const cpuSeconds = Math.max(s.cpuMs, 1) / 1000;
  out(
    `process lifecycles:   ${s.lifecycles} (${Math.round(s.lifecycles / seconds)}/s wall, ` +
      `${Math.round(s.lifecycles / cpuSeconds)} per CPU-second of the whole process; ` +
      `${s.jobs} ${s.jobs === 1 ? 'thread' : 'worker threads'})`,
  );
  out(
    `simulated time:       ${(s.simMs / 3_600_000).toFixed(1)} h in ${seconds.toFixed(1)} s wall`,
  );
  out(`daemon restarts:      ${s.daemonCrashes} (crashes and graceful; every restore checked)`);
  const faults = [...s.faults].sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => `${k}=${n}`);
  out(`faults injected:      ${faults.join(' ') || 'none'}`);
  out(`invariant checks:     ${s.checks} over ${s.steps} steps`);
  const covered = [...s.coverage]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, n]) => `${k}=${n}`);
  out(`verified:             ${covered.join(' ') || 'nothing'}`);
  const byClass = new Map<string, number[]>();
  for (const f of s.failures) {
    const list = byClass.get(f.violation!.failure) ?? [];
    list.push(f.seed);
    byClass.set(f.violation!.failure, list);
  }
  out(`violations:           ${s.failures.length}`);
  for (const [failure, seeds] of byClass) {
    const more = seeds.length > 12 ? ' …' : '';
    out(
      `  ${failure} (exit ${EXIT_CODES[failure as FailureClass]}): ` +
        `${seeds.length} seed(s): ${seeds.slice(0, 12).join(', ')}${more}`,
    );
  }
}

export interface FailureReportOptions {
  createSupervisor: CreateSupervisor;
  supervisorOptions?: SupervisorOptions;
  shrink: boolean;
  canary: boolean;
}

/** Shrink and print the first failing seed of each failure class. */
export async function printFailures(
  s: CampaignSummary,
  options: FailureReportOptions,
): Promise<void> {
  const shown = new Map<string, number>();
  for (const failed of s.failures) {
    const failure = failed.violation!.failure;
    if ((shown.get(failure) ?? 0) >= SHRUNK_PER_CLASS) continue;
    shown.set(failure, (shown.get(failure) ?? 0) + 1);
    await printFailure(failed, options);
  }
}

async function printFailure(failed: RunResult, options: FailureReportOptions): Promise<void> {
  const base = {
    seed: failed.seed,
    createSupervisor: options.createSupervisor,
    ...(options.supervisorOptions ? { supervisorOptions: options.supervisorOptions } : {}),
  };
  let keep = failed.ran;
  if (options.shrink) keep = (await shrink(base, failed)).keep;
  const traced = await runSeed({ ...base, keep: new Set(keep), trace: true });
  const shown = traced.violation ?? failed.violation!;
  const canary = options.canary ? ' --canary' : '';
  out();
  out(
    `✗ seed ${failed.seed}: ${shown.failure} violation (exit ${shown.exitCode}) ` +
      `in the ${shown.phase} phase`,
  );
  out(`  ${shown.message}`);
  out(`  fault sites: ${failed.faultSites.join(', ') || 'none'}`);
  out(`  shortest workload found: ${keep.length} of ${failed.ops.length} operations`);
  for (const i of keep) out(`    op#${i} ${describeOp(failed.ops[i]!)}`);
  const tail = traced.trace.slice(-TRACE_TAIL_LINES);
  out(`  trace (last ${tail.length} of ${traced.trace.length} lines):`);
  for (const line of tail) out(`    ${line}`);
  out(`  replay: npm run sim -- --seed ${failed.seed}${canary}`);
  out(`  replay shrunk: npm run sim -- --seed ${failed.seed} --keep ${keep.join(',')}${canary}`);
}

export function printReplay(result: RunResult): void {
  out();
  out(
    `seed ${result.seed}: ${result.ran.length} operations, ` +
      `${result.lifecycles} process lifecycles, ` +
      `${result.checks} checks, ${(result.simMs / 1000).toFixed(1)} s simulated`,
  );
  out(
    `fault sites: ${result.faultSites.join(', ') || 'none'}; injected: ` +
      `${[...result.faults].map(([k, n]) => `${k}=${n}`).join(' ') || 'none'}`,
  );
  const v = result.violation;
  if (v === null) out('no violation');
  else
    out(
      `✗ ${v.failure} violation (exit ${v.exitCode}) in the ${v.phase} phase ` +
        `at t=${v.atMs}: ${v.message}`,
    );
}
