/** `shipote run`, `commands`, `logs`, `restart`. */

import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { Command } from 'commander';
import type { CommandView } from '../../core/engine/api.js';
import { enc } from './api.js';
import { paintState } from './colors.js';
import { collectPair, type Io, intFlag, makeCtx, pairsToRecord } from './context.js';
import { usage } from './errors.js';
import { exitText, humanBytes, table } from './format.js';

/** `sleep` → `/usr/bin/sleep` from the CLI's PATH; names with a `/` are left alone. */
export function resolveExec(exec: string, pathVar: string | undefined): string {
  if (exec.includes('/') || !pathVar) return exec;
  for (const dir of pathVar.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, exec);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not here: try the next PATH entry.
    }
  }
  return exec;
}

interface RunOptions {
  restartOnFailure?: boolean;
  label?: string;
  ready?: string;
  watchdogMs?: string;
  cwd?: string;
  env: string[];
  logMaxBytes?: string;
  logKeep?: string;
}

/** `logs` of the request when --log-max-bytes or --log-keep is given (the daemon checks). */
function logsOf(o: RunOptions): { logs?: { maxBytes: number; keep: number } } {
  const maxBytes = intFlag(o.logMaxBytes, '--log-max-bytes');
  const keep = intFlag(o.logKeep, '--log-keep');
  if (maxBytes === undefined && keep === undefined) return {};
  return { logs: { maxBytes: maxBytes ?? 0, keep: keep ?? 0 } };
}

export function commandBody(argv: string[], o: RunOptions, io: Io): Record<string, unknown> {
  const [exec, ...args] = argv;
  if (!exec) throw usage('run needs a command after --, e.g. shipote run ws -- /bin/echo hi');
  if (o.ready !== undefined && o.ready !== 'notify' && o.ready !== 'exec') {
    throw usage(`--ready expects notify or exec, got "${o.ready}"`);
  }
  const env = pairsToRecord(o.env, '--env');
  const inherited = ['PATH', 'HOME', 'LANG'].flatMap((k) =>
    io.env[k] !== undefined && env[k] === undefined ? [`${k}=${io.env[k]}`] : [],
  );
  return {
    exec: resolveExec(exec, io.env.PATH),
    argv: args,
    envp: [...inherited, ...Object.entries(env).map(([k, v]) => `${k}=${v}`)],
    cwd: o.cwd ?? process.cwd(),
    label: o.label ?? '',
    restartOnFailure: o.restartOnFailure === true,
    ready: o.ready ?? 'exec',
    watchdogMs: intFlag(o.watchdogMs, '--watchdog-ms') ?? 0,
    ...logsOf(o),
  };
}

export function addCommandCommands(program: Command, io: Io): void {
  program
    .command('run <ws> [exec...]')
    .description('start a command in a workspace: shipote run <ws> [options] -- exec args…')
    .option('--restart-on-failure', 'relaunch on non-zero exit with exponential backoff')
    .option('--label <label>', 'label (default run-XXXXXX)')
    .option('--ready <mode>', 'notify: started only after READY=1 on NOTIFY_SOCKET')
    .option('--watchdog-ms <ms>', 'kill when no WATCHDOG=1 arrives within this long')
    .option('--cwd <dir>', 'working directory (default: the current one)')
    .option('--env <K=V>', 'environment variable (repeatable)', collectPair, [])
    .option(
      '--log-max-bytes <n>',
      'rotate its stdout/stderr files at this size (default: SHIPOTE_LOG_MAX_BYTES)',
    )
    .option('--log-keep <n>', 'files kept per stream, current included (default: SHIPOTE_LOG_KEEP)')
    .option('--json', 'print the command as JSON')
    .action(async (ref: string, argv: string[], o: RunOptions, cmd: Command) => {
      const ctx = makeCtx(cmd, io);
      const body = commandBody(argv, o, io);
      const view = await ctx.api.post<CommandView>(`/v1/workspaces/${enc(ref)}/commands`, body);
      if (ctx.json) return ctx.printJson(view);
      ctx.print(`${view.id} ${view.label} pid ${view.pid ?? '-'}`);
    });
  program
    .command('commands <ws>')
    .description('id, label, pid, state, exit status, restarts, log bytes')
    .option('--json', 'print the commands as JSON')
    .action(async (ref: string, _o, cmd: Command) => {
      const ctx = makeCtx(cmd, io);
      const list = await ctx.api.get<(CommandView & { logBytes?: number })[]>(
        `/v1/workspaces/${enc(ref)}/commands`,
      );
      if (ctx.json) return ctx.printJson(list);
      if (list.length === 0) return ctx.print('no commands');
      const rows = list.map((c) => [
        c.id,
        c.label,
        c.pid ?? '-',
        paintState(ctx.paint, c.state),
        exitText(c.exit),
        c.restarts,
        c.logBytes === undefined ? '-' : humanBytes(c.logBytes),
      ]);
      ctx.print(table(['ID', 'LABEL', 'PID', 'STATE', 'EXIT', 'RESTARTS', 'LOGS'], rows));
    });
  addLogsCommand(program, io);
  program
    .command('restart <ws> <cmd>')
    .description('operator restart: clears crash-loop / gave-up and starts it again')
    .option('--json', 'print the command as JSON')
    .action(async (ref: string, c: string, _o, cmd: Command) => {
      const ctx = makeCtx(cmd, io);
      const view = await ctx.api.post<CommandView>(
        `/v1/workspaces/${enc(ref)}/commands/${enc(c)}/restart`,
      );
      if (ctx.json) return ctx.printJson(view);
      ctx.print(`restarted ${view.label} (${view.id}) pid ${view.pid ?? '-'}`);
    });
}

interface LogsOptions {
  stdout?: boolean;
  stderr?: boolean;
  both?: boolean;
  tail?: string;
  lines?: string;
  since?: string;
  until?: string;
  timestamps?: boolean;
  follow?: boolean;
}

function logsQuery(o: LogsOptions): URLSearchParams {
  const picked = [o.stdout && 'stdout', o.stderr && 'stderr', o.both && 'both'].filter(Boolean);
  if (picked.length > 1) throw usage('pick one of --stdout, --stderr, --both');
  const q = new URLSearchParams({ which: String(picked[0] ?? 'both') });
  const tail = intFlag(o.tail, '--tail');
  if (tail !== undefined) q.set('tail', String(tail));
  const lines = intFlag(o.lines, '--lines');
  if (lines !== undefined) q.set('lines', String(lines));
  if (o.since !== undefined) q.set('since', o.since);
  if (o.until !== undefined) q.set('until', o.until);
  if (o.timestamps) q.set('timestamps', '1');
  if (o.follow) q.set('follow', '1');
  return q;
}

function addLogsCommand(program: Command, io: Io): void {
  program
    .command('logs <ws> [cmd]')
    .description(
      'captured output of a command, or of every command of a workspace merged by time ' +
        '(each line labelled); -f follows until it ends (a workspace: while it runs, taking in ' +
        'commands and pipelines started meanwhile)',
    )
    .option('--stdout', 'stdout only')
    .option('--stderr', 'stderr only')
    .option('--both', 'stdout and stderr (default)')
    .option('-n, --lines <n>', 'only the last N lines (per command when merged)')
    .option('--tail <bytes>', 'only the last BYTES')
    .option('--since <when>', 'lines from then on: a duration back (10m, 1h30m) or RFC 3339')
    .option('--until <when>', 'lines up to then: a duration back (10m, 1h30m) or RFC 3339')
    .option('-t, --timestamps', 'the capture time (RFC 3339) before each line')
    .option('-f, --follow', 'keep printing new output until the command (or workspace) ends')
    .action(async (ref: string, c: string | undefined, o: LogsOptions, cmd: Command) => {
      const ctx = makeCtx(cmd, io);
      const q = logsQuery(o);
      const path =
        c === undefined
          ? `/v1/workspaces/${enc(ref)}/logs?${q}`
          : `/v1/workspaces/${enc(ref)}/commands/${enc(c)}/logs?${q}`;
      await ctx.api.stream(path, (chunk) => {
        io.out(chunk);
        return io.drained?.();
      });
    });
}
