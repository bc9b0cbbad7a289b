/**
 * `shipote daemon` without the CLI: bin/shipote.mjs comes here directly so the daemon
 * does not load commander, the tables and every CLI command it never runs (a few MB of
 * resident memory for as long as it lives).
 */

import { runDaemon } from './main.js';

export const daemonUsage = 'usage: shipote daemon [--socket PATH] [--state FILE]';

export type DaemonArgs =
  | { ok: true; socketPath?: string; statePath?: string; help: boolean }
  | { ok: false; message: string };

/** Accepts `--socket P`, `--socket=P`, `--state F`, `--state=F`, `-h/--help`. */
export function parseDaemonArgs(argv: string[]): DaemonArgs {
  const out: { socketPath?: string; statePath?: string; help: boolean } = { help: false };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] ?? '';
    if (arg === '-h' || arg === '--help') {
      out.help = true;
      continue;
    }
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? arg.split(/=(.*)/s) : [arg];
    if (flag !== '--socket' && flag !== '--state') {
      return { ok: false, message: `unknown argument "${arg}"` };
    }
    let value = inline;
    if (value === undefined) {
      i += 1;
      value = argv[i];
    }
    if (value === undefined || value === '') {
      return { ok: false, message: `${flag} needs a value` };
    }
    if (flag === '--socket') out.socketPath = value;
    else out.statePath = value;
  }
  return { ok: true, ...out };
}

export async function daemonMain(argv: string[]): Promise<void> {
  const args = parseDaemonArgs(argv);
  if (!args.ok) {
    process.stderr.write(`shipote: ${args.message}\n${daemonUsage}\n`);
    process.exitCode = 2;
    return;
  }
  if (args.help) {
    process.stdout.write(`${daemonUsage}\n`);
    return;
  }
  try {
    await runDaemon({ socketPath: args.socketPath, statePath: args.statePath });
  } catch (error) {
    process.stderr.write(`shipote daemon: ${(error as Error).message}\n`);
    process.exit(1);
  }
}
