/**
 * Starting a daemon on first use: when nothing answers on the socket, spawn
 * `node <entry> daemon --socket S` detached (its own session, so it outlives the CLI),
 * with its output in `daemon.log` next to the socket, and poll the socket until it
 * answers or the deadline passes. What happened is said on stderr.
 */

import { spawn } from 'node:child_process';
import { closeSync, constants, existsSync, openSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { socketAnswers } from '../control/client.js';
import { ensurePrivateDir } from '../store/private-dir.js';
import { CliError, exitUnreachable } from './errors.js';

export const startDeadlineMs = 15_000;
/** Append, create, and never through a link planted at the log's name. */
const logFlags = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW;
const pollEveryMs = 50;

export interface StartedDaemon {
  pid: number;
  logPath: string;
}

/**
 * The command line that runs this CLI again (compiled entry or tsx in development). Run as
 * `bin/shipote.mjs`, the daemon is started through `bin/shipote.cjs` beside it, the same
 * command in CommonJS: a daemon whose main script is an ES module keeps Node's ES module
 * loader resident for its whole life (about 1.7 MiB).
 */
export function selfCommand(entry = process.argv[1] ?? ''): { file: string; args: string[] } {
  const cjs = entry.endsWith('shipote.mjs') ? `${entry.slice(0, -'mjs'.length)}cjs` : '';
  const script = cjs !== '' && existsSync(cjs) ? cjs : entry;
  return { file: process.execPath, args: [...process.execArgv, script] };
}

export async function startDaemon(
  socketPath: string,
  say: (line: string) => void,
): Promise<StartedDaemon> {
  ensurePrivateDir(dirname(socketPath), 'socket directory', 'SHIPOTE_SOCKET (or --socket)');
  const logPath = join(dirname(socketPath), 'daemon.log');
  const out = openSync(logPath, logFlags, 0o600);
  const self = selfCommand();
  const child = spawn(self.file, [...self.args, 'daemon', '--socket', socketPath], {
    detached: true,
    stdio: ['ignore', out, out],
    env: process.env,
  });
  closeSync(out);
  const pid = child.pid ?? 0;
  let exited: string | null = null;
  child.once('exit', (code, signal) => {
    exited = signal ? `killed by ${signal}` : `exited with ${code}`;
  });
  child.unref();
  say(`no daemon answered at ${socketPath}; starting one (pid ${pid}, log ${logPath})`);
  const until = Date.now() + startDeadlineMs;
  while (Date.now() < until) {
    if (await socketAnswers(socketPath)) {
      say(`daemon ready (pid ${pid})`);
      return { pid, logPath };
    }
    if (exited !== null) break;
    await new Promise((r) => setTimeout(r, pollEveryMs));
  }
  const why = exited ?? `no answer within ${startDeadlineMs} ms`;
  throw new CliError(
    exitUnreachable,
    `daemon unreachable at ${socketPath} and could not be started: ${why} (see ${logPath})`,
  );
}
