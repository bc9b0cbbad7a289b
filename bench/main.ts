/**
 * `npm run bench [-- --json] [-- --quick] [-- --suite spawn|restart|pipes|workers]`: the
 * Linux adapter against baselines measured in the same run (Node child_process, a shell
 * pipe, Node streams, bare SQLite). Prints a table with ratios and the goals; `--json`
 * prints the rows as JSON. Rounds alternate between the adapter and its baseline
 * (bench/rounds.ts): values are medians, the ratio is the median of the per-round ratios,
 * and `spread` their range (the machine is shared).
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLinuxKernel } from '../adapters/linux/index.js';
import { captureSuite } from './capture.js';
import { type BenchContext, type Row, runAll } from './suites.js';
import { printTable } from './table.js';

function suiteArg(argv: string[]): { suite?: string } {
  const at = argv.indexOf('--suite');
  const name = at >= 0 ? argv[at + 1] : undefined;
  return name ? { suite: name } : {};
}

async function main(): Promise<void> {
  const args = new Set(process.argv.slice(2));
  const runtimeDir = mkdtempSync(join(tmpdir(), 'shipote-bench-'));
  const kernel = createLinuxKernel({ runtimeDir });
  const ctx: BenchContext = {
    kernel,
    runtimeDir,
    quick: args.has('--quick'),
    ...suiteArg(process.argv.slice(2)),
    log: (s) => {
      if (!args.has('--json')) process.stderr.write(`${s}\n`);
    },
  };
  let rows: Row[];
  try {
    // `--capture`: only the capture-to-disk suite (bench/capture.ts); it is in the full run too.
    rows = args.has('--capture') ? await captureSuite(ctx) : await runAll(ctx);
  } finally {
    kernel.close();
    rmSync(runtimeDir, { recursive: true, force: true });
  }
  if (args.has('--json')) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
  else printTable(rows);
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
