#!/usr/bin/env node
// `npm test`: every stage CI runs, in order, with one closing line CI can read:
//   tests: N passed, N failed, N skipped
// Stages run even after a failure (so one report shows everything); exit 1 if any failed.
// SHIPOTE_TEST_STAGES=unit,sim limits the run (for local iteration).
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';

const STAGES = [
  { name: 'build', cmd: 'npm run --silent build', counts: false },
  { name: 'typecheck', cmd: 'npm run --silent typecheck', counts: false },
  { name: 'lint', cmd: 'npm run --silent lint', counts: false },
  { name: 'unit', cmd: 'npm run --silent test:unit', counts: true },
  { name: 'package', cmd: 'npm run --silent jest -- --selectProjects pack', counts: true },
  { name: 'sim', cmd: 'npm run --silent sim -- --seeds 300', counts: false },
  {
    name: 'sim-canary',
    cmd: 'npm run --silent sim -- --canary',
    counts: false,
    expectFail: true,
  },
  // The short stress form (about a minute): one count per attack.
  { name: 'stress', cmd: 'npm run --silent stress', counts: true },
  { name: 'e2e', cmd: 'npm run --silent e2e', counts: true },
  { name: 'e2e-v2', cmd: 'npm run --silent e2e:v2', counts: true },
];

/**
 * Jest: `Tests: 1 failed, 2 skipped, 10 passed, 13 total`;
 * plain: `3 passed, 0 failed, 1 skipped`.
 */
export function parseCounts(text) {
  const counts = { passed: 0, failed: 0, skipped: 0, found: false };
  const summary = /^\s*(Tests:|[\w-]+:\s*)?\s*\d+ (passed|failed)/;
  const lines = text.split('\n').filter((l) => summary.test(l));
  const jest = lines.filter((l) => /^\s*Tests:/.test(l));
  const pick = jest.length > 0 ? jest : lines.slice(-1);
  for (const line of pick) {
    for (const [, n, kind] of line.matchAll(/(\d+) (passed|failed|skipped|todo)/g)) {
      const key = kind === 'todo' ? 'skipped' : kind;
      counts[key] += Number(n);
      counts.found = true;
    }
  }
  return counts;
}

function run(stage) {
  return new Promise((resolve) => {
    const started = performance.now();
    const child = spawn('bash', ['-c', stage.cmd], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const relay = (stream, sink) =>
      stream.on('data', (d) => {
        out += d.toString();
        sink.write(d);
      });
    relay(child.stdout, process.stdout);
    relay(child.stderr, process.stderr);
    child.on('close', (code) => {
      resolve({ code: code ?? 1, out, seconds: (performance.now() - started) / 1000 });
    });
  });
}

async function main() {
  const only = process.env.SHIPOTE_TEST_STAGES?.split(',').map((s) => s.trim());
  const total = { passed: 0, failed: 0, skipped: 0 };
  const rows = [];
  for (const stage of STAGES.filter((s) => !only || only.includes(s.name))) {
    process.stdout.write(`\n=== stage ${stage.name}: ${stage.cmd}\n`);
    const { code, out, seconds } = await run(stage);
    const c = stage.counts ? parseCounts(out) : null;
    // A counting stage that exits 0 but reports no count ran no test: that is a failure.
    const silent = c !== null && !c.found;
    const ok = (stage.expectFail ? code !== 0 : code === 0) && !silent;
    if (silent) process.stdout.write(`stage ${stage.name} printed no test count\n`);
    if (c !== null) {
      total.passed += c.passed;
      total.failed += c.failed + (!ok && c.failed === 0 ? 1 : 0);
      total.skipped += c.skipped;
    } else {
      total[ok ? 'passed' : 'failed'] += 1;
    }
    const took = `${seconds.toFixed(1).padStart(7)} s`;
    rows.push(`${ok ? 'ok  ' : 'FAIL'} ${stage.name.padEnd(11)} ${took}`);
  }
  process.stdout.write(`\n=== summary (a check stage counts as one test)\n${rows.join('\n')}\n`);
  const { passed, failed, skipped } = total;
  process.stdout.write(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  process.exitCode = total.failed > 0 ? 1 : 0;
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
