/**
 * `npm run stress [-- --long] [--only a,b] [--seed N]`: the standing stress suite. Each
 * attack starts its own daemon (SHIPOTE_CGROUPS=off, a temp dir), prints one line of
 * figures, and stops the daemon by pid. Exits non-zero on any acknowledged write lost,
 * crash or unanswered health check. The last line is `N passed, N failed` for the test
 * driver (scripts/test.mjs). The short form is bounded to about a minute.
 */

import { apiFuzz } from './api-fuzz.js';
import { connFlood } from './conn-flood.js';
import { diskFull } from './disk-full.js';
import { killLoop } from './kill-loop.js';
import type { Outcome, StressOptions } from './report.js';
import { specFuzz } from './spec-fuzz.js';
import { stdoutFlood } from './stdout-flood.js';

const attacks: Record<string, (o: StressOptions) => Promise<Outcome>> = {
  'spec-fuzz': specFuzz,
  'api-fuzz': apiFuzz,
  'conn-flood': connFlood,
  'kill-loop': killLoop,
  'disk-full': diskFull,
  'stdout-flood': stdoutFlood,
};

function parseArgs(argv: string[]): StressOptions & { only: string[] } {
  const long = argv.includes('--long');
  const seedAt = argv.indexOf('--seed');
  const seed = seedAt >= 0 ? Number(argv[seedAt + 1]) : 20261129;
  const onlyAt = argv.indexOf('--only');
  const only = onlyAt >= 0 ? (argv[onlyAt + 1] ?? '').split(',') : Object.keys(attacks);
  for (const name of only) {
    if (!(name in attacks))
      throw new Error(`--only: unknown attack ${name} (${Object.keys(attacks).join(', ')})`);
  }
  return { long, seed, only };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  process.stdout.write(`stress (${args.long ? 'long' : 'short'} form, seed ${args.seed})\n`);
  let passed = 0;
  let failed = 0;
  for (const name of args.only) {
    const started = Date.now();
    let outcome: Outcome;
    try {
      outcome = await attacks[name]!(args);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      outcome = { attack: name, ok: false, figures: 'did not finish', notes: [message] };
    }
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    const mark = outcome.ok ? 'ok  ' : 'FAIL';
    process.stdout.write(`${mark} ${outcome.attack}: ${outcome.figures} (${seconds} s)\n`);
    for (const note of outcome.notes) process.stdout.write(`       ${note}\n`);
    if (outcome.ok) passed += 1;
    else failed += 1;
  }
  process.stdout.write(`${passed} passed, ${failed} failed\n`);
  process.exitCode = failed > 0 ? 1 : 0;
}

await main();
