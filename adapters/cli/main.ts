/**
 * The `shipote` command. `runCli(argv, io)` returns the exit code (contract: 0 ok, 1 failed,
 * 2 usage, 3 not found, 4 conflict, 69 daemon unreachable); errors are one clear line on
 * stderr, spec errors list every issue.
 */

import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { Command, CommanderError } from 'commander';
import { addApplyCommands } from './cmd-apply.js';
import { addCommandCommands } from './cmd-commands.js';
import { addMiscCommands } from './cmd-misc.js';
import { addFlowCommands, addPipelineCommands } from './cmd-pipeline.js';
import { addTopCommand } from './cmd-top.js';
import { addCompletionCommand, addViewsCommands } from './cmd-views.js';
import { addWorkerCommands } from './cmd-worker.js';
import { addWorkspaceCommands } from './cmd-workspace.js';
import { colorWanted } from './colors.js';
import type { Io } from './context.js';
import { CliError, exitFailed, exitOk, exitUsage, templateHints } from './errors.js';
import { packageVersion } from './version.js';

interface DaemonFlags {
  state?: string;
  init?: boolean;
  apply?: string;
  grace?: string;
}

export function buildProgram(io: Io): Command {
  const program = new Command('shipote')
    .description('Linux process supervisor: workspaces, supervised commands, pipelines')
    .version(packageVersion(), '-V, --version', 'print the shipote version')
    .option('--socket <path>', 'control socket (default $SHIPOTE_SOCKET, then the runtime dir)')
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.out(s),
      writeErr: (s) => io.err(s),
    });
  program
    .command('daemon')
    .description('run the daemon in the foreground')
    .option('--state <file>', 'snapshot file (default $SHIPOTE_STATE, then XDG state dir)')
    .option('--init', "be a container's init: reap orphans, stop gracefully on SIGTERM")
    .option('--apply <file>', 'apply this file at start (implies --init)')
    .option('--grace <ms>', 'with --init: how long services get after SIGTERM (default 8000)')
    .action(async (o: DaemonFlags, cmd: Command) => {
      // bin/shipote.mjs skips the CLI for `daemon`; this path serves `tsx adapters/cli/main.ts`.
      const { daemonMain } = await import('../daemon/entry.js');
      const g = cmd.optsWithGlobals() as { socket?: string };
      const argv = [
        ...(g.socket ? ['--socket', g.socket] : []),
        ...(o.state ? ['--state', o.state] : []),
        ...(o.init ? ['--init'] : []),
        ...(o.apply ? ['--apply', o.apply] : []),
        ...(o.grace ? ['--grace', o.grace] : []),
      ];
      await daemonMain(argv);
    });
  addWorkspaceCommands(program, io);
  addCommandCommands(program, io);
  addPipelineCommands(program, io);
  addFlowCommands(program, io);
  addApplyCommands(program, io);
  addMiscCommands(program, io);
  addViewsCommands(program, io);
  addTopCommand(program, io);
  addCompletionCommand(program, io);
  addWorkerCommands(program, io);
  return program;
}

export async function runCli(argv: string[], io: Io): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitOk;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') {
        return exitOk;
      }
      if (error.code === 'commander.help') return exitOk;
      return exitUsage;
    }
    if (error instanceof CliError) {
      io.err(`shipote: ${error.message}\n`);
      for (const d of error.details) io.err(`  ${d}\n`);
      for (const h of templateHints([error.message, ...error.details])) io.err(`${h}\n`);
      return error.exitCode;
    }
    io.err(`shipote: ${(error as Error).message ?? String(error)}\n`);
    return exitFailed;
  }
}

export function processIo(): Io {
  return {
    out: (text) => {
      process.stdout.write(text);
    },
    drained: () =>
      process.stdout.writableNeedDrain
        ? new Promise<void>((resolve) => process.stdout.once('drain', () => resolve()))
        : undefined,
    err: (text) => {
      process.stderr.write(text);
    },
    env: process.env,
    uid: process.getuid?.() ?? 0,
    color: colorWanted(process.env, process.stdout.isTTY === true),
    tty: process.stdout.isTTY === true,
  };
}

export async function main(): Promise<void> {
  // A reader that goes away (`| head`) is not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(exitOk);
  });
  const code = await runCli(process.argv.slice(2), processIo());
  process.exitCode = code;
}

function isEntry(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(entry)).href;
  } catch {
    return false;
  }
}

if (isEntry()) void main();
