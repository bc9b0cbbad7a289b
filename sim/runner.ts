/**
 * One seed, two phases (STYLE sim/5). Safety: the workload runs with the swarm's faults
 * on and every checker runs after every step (an operation, or one batch of timers firing
 * at the same instant). Liveness: faults off, every workspace and pipeline is stopped,
 * and the system must converge (all stops resolve, nothing alive) within a bounded time.
 */

import { executeOp } from './execute.js';
import {
  type RunOptions,
  type RunResult,
  SeedRun,
  type Violation,
  ViolationError,
} from './seed.js';
import { describeOp } from './workload.js';

export type { RunOptions, RunResult, Violation };
export { SeedRun, ViolationError };

const LIVENESS_BUDGET_MS = 15_000;

async function run(seed: SeedRun): Promise<RunResult> {
  const ran: number[] = [];
  let violation: Violation | null = null;
  try {
    seed.startDaemon();
    await seed.settle();
    for (let i = 0; i < seed.ops.length; i++) {
      if (seed.options.keep && !seed.options.keep.has(i)) continue;
      ran.push(i);
      seed.opIndex = i;
      const op = seed.ops[i]!;
      seed.world.trace.add(() => `op#${i} ${describeOp(op)}`);
      await seed.guard(() => executeOp(seed, op));
      await seed.settle();
    }
    await liveness(seed);
  } catch (error) {
    violation = seed.toViolation(error);
  }
  return seed.result(ran, violation);
}

async function liveness(seed: SeedRun): Promise<void> {
  seed.phase = 'liveness';
  seed.opIndex = -1;
  seed.world.faults.disable();
  seed.world.trace.add(() => 'liveness: faults off, stopping everything');
  await seed.advance(2000);
  const prng = seed.world.prng.fork();
  for (const ws of seed.model.workspaces) {
    const graceMs = prng.pick([0, 300, 1000, 2500]);
    await seed.guard(() => executeOp(seed, { kind: 'stop-ws', ws: ws.index, graceMs }));
    await seed.settle();
  }
  const settled = () => seed.world.kernel.live.size === 0 && seed.pendingStops.every((s) => s.done);
  if (await seed.advanceUntil(LIVENESS_BUDGET_MS, settled)) {
    const done = seed.pendingStops.filter((s) => s.done).length;
    seed.coverage.set('stops settled', done);
    return;
  }
  const stuck = seed.pendingStops
    .filter((s) => !s.done)
    .map((s) => `${s.what} (t=${s.atMs}, grace ${s.graceMs})`);
  const live = [...seed.world.kernel.live].map((p) => `${p.pid}:${p.exec}:${p.key}`);
  throw new ViolationError(
    'liveness',
    `not converged ${LIVENESS_BUDGET_MS} ms after stopping everything: ` +
      `unresolved stops [${stuck.join('; ')}], live processes [${live.join(' ')}]`,
  );
}

export async function runSeed(options: RunOptions): Promise<RunResult> {
  return run(new SeedRun(options));
}
