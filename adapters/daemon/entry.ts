/**
 * `shipote daemon` without the CLI: bin/shipote.mjs comes here directly so the daemon
 * does not load commander, the tables and every CLI command it never runs (a few MB of
 * resident memory for as long as it lives).
 */

import { runDaemon } from './main.js';
import { applyDaemonV8Flags } from './v8-flags.js';

/** Default grace of the stop on SIGTERM in init mode: under `docker stop`'s 10 s. */
export const initGraceMsDefault = 8000;

export const daemonUsage =
  'usage: shipote daemon [--socket PATH] [--state FILE] [--init] [--apply FILE] [--grace MS]';

interface Parsed {
  socketPath?: string;
  statePath?: string;
  help: boolean;
  /** Be a container's init: reap orphans, graceful stop on SIGTERM (implied by --apply). */
  init: boolean;
  applyFile?: string;
  graceMs?: number;
}

export type DaemonArgs = ({ ok: true } & Parsed) | { ok: false; message: string };

const valueFlags = ['--socket', '--state', '--apply', '--grace'];

/** `--socket P`, `--state F`, `--apply F`, `--grace MS` (or `=`), `--init`, `-h/--help`. */
export function parseDaemonArgs(argv: string[]): DaemonArgs {
  const out: Parsed = { help: false, init: false };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] ?? '';
    if (arg === '-h' || arg === '--help') {
      out.help = true;
      continue;
    }
    if (arg === '--init') {
      out.init = true;
      continue;
    }
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? arg.split(/=(.*)/s) : [arg];
    if (flag === undefined || !valueFlags.includes(flag)) {
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
    else if (flag === '--state') out.statePath = value;
    else if (flag === '--apply') out.applyFile = value;
    else {
      const ms = Number(value);
      if (!Number.isSafeInteger(ms) || ms < 0) {
        return {
          ok: false,
          message: `--grace expects milliseconds (an integer >= 0), got "${value}"`,
        };
      }
      out.graceMs = ms;
    }
  }
  if (out.applyFile !== undefined) out.init = true;
  return { ok: true, ...out };
}

export async function daemonMain(argv: string[]): Promise<void> {
  applyDaemonV8Flags(process.env);
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
    const init = args.init
      ? { graceMs: args.graceMs ?? initGraceMsDefault, applyFile: args.applyFile }
      : undefined;
    await runDaemon({ socketPath: args.socketPath, statePath: args.statePath, init });
  } catch (error) {
    process.stderr.write(`shipote daemon: ${(error as Error).message}\n`);
    process.exit(1);
  }
}
