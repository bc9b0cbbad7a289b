// Entry of the in-VM suite, run by /init (e2e/vm/init.sh) from /shipote as root, with the
// unified hierarchy mounted at /sys/fs/cgroup and nothing else in it. Kernel-only tests first
// (they prove the harness), then the shipote tests against the real daemon and CLI.
// SHIPOTE_VM_ONLY (comma-separated name prefixes, from the kernel command line) narrows it.
import { readFileSync } from 'node:fs';
import { emit, emitDone, runTests } from './harness.mjs';
import { kernelTests, prepareRoot } from './kernel-suite.mjs';
import { stopDaemon } from './shipote-env.mjs';
import { afterShipoteFailure, shipoteGate, shipoteTests } from './shipote-suite.mjs';

/** Past this many seconds of uptime, remaining tests are skipped so the run still ends cleanly. */
const budgetS = Number(process.env.SHIPOTE_VM_BUDGET_S ?? 420);

function overBudget() {
  const uptimeS = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
  if (uptimeS <= budgetS) return null;
  return { kind: 'fail', reason: `not run: the VM time budget (${budgetS} s of uptime) is spent` };
}

async function main() {
  const only = (process.env.SHIPOTE_VM_ONLY ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  emit(`# suite: node ${process.version}, only=${only.join(',') || 'all'}`);
  prepareRoot();
  const kernel = await runTests(kernelTests(), { only, gate: overBudget });
  const gate = (test) => overBudget() ?? shipoteGate(test);
  const shipote = await runTests(shipoteTests(), { only, gate });
  if (shipote.fail > 0) afterShipoteFailure();
  await stopDaemon().catch((error) => emit(`# suite: daemon stop: ${error.message}`));
  const counts = {
    ok: kernel.ok + shipote.ok,
    fail: kernel.fail + shipote.fail,
    skip: kernel.skip + shipote.skip,
  };
  emitDone(counts);
  return counts.fail === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    emit(`# suite: crashed: ${error?.stack ?? error}`);
    process.exit(2);
  },
);
