/**
 * Host side of `npm run e2e:v2`: reads the VM's console log, prints each result and the
 * counts, exits 0 only when nothing failed and something passed.
 *   tsx e2e/vm/report.ts CONSOLE.log [--qemu-status N]
 */
import { readFileSync } from 'node:fs';
import { exitStatus, formatReport, parseConsole } from './console.js';

function main(argv: string[]): number {
  const [logPath, ...rest] = argv;
  if (!logPath) {
    process.stderr.write('usage: report.ts CONSOLE.log [--qemu-status N]\n');
    return 2;
  }
  const statusAt = rest.indexOf('--qemu-status');
  const raw = statusAt >= 0 ? rest[statusAt + 1] : undefined;
  const qemuStatus = raw !== undefined && /^\d+$/.test(raw) ? Number(raw) : null;
  const report = parseConsole(readFileSync(logPath, 'utf8'), qemuStatus);
  process.stdout.write(formatReport(report));
  return exitStatus(report);
}

process.exitCode = main(process.argv.slice(2));
