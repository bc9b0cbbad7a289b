/** `shipote workspace create|list|stop|quota|stats`. */

import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { QuotaView, StatsView, WorkspaceView } from '../../core/engine/api.js';
import { enc } from './api.js';
import { paintState } from './colors.js';
import { addViewCommand, type Ctx, type Io, intFlag, makeCtx } from './context.js';
import { CliError, exitFailed } from './errors.js';
import { humanBytes, humanDuration, keyValues, sparkline, table } from './format.js';

export function readSpecFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code ?? 'error';
    const why = code === 'ENOENT' ? 'no such file' : (cause as Error).message;
    throw new CliError(exitFailed, `cannot read spec ${path}: ${why}`);
  }
}

export function addWorkspaceCommands(program: Command, io: Io): void {
  const ws = program.command('workspace').description('create, list, stop and inspect workspaces');
  ws.command('create <spec>')
    .description('create a workspace from a TOML spec; prints its id and warnings')
    .option('--json', 'print the id and the warnings as JSON')
    .action(async (file: string, _o, cmd: Command) => {
      const ctx = makeCtx(cmd, io);
      const toml = readSpecFile(file);
      const made = await ctx.api.post<{ id: string; warnings: string[] }>(
        '/v1/workspaces',
        { toml },
        file,
      );
      if (ctx.json) return ctx.printJson(made);
      ctx.print(made.id);
      for (const w of made.warnings) io.err(`warning: ${w}\n`);
    });
  const list = {
    name: 'list',
    description: 'id, label, state, commands, uptime',
    json: 'print the workspaces as JSON',
    path: '/v1/workspaces',
  };
  addViewCommand<WorkspaceView[]>(ws, io, list, printWorkspaces);
  ws.command('stop <ws>')
    .description('SIGTERM every live process, SIGKILL after the grace period')
    .option('--grace <ms>', 'grace period in ms (0 = SIGKILL at once)', '1000')
    .option('--json', 'print the number of processes reaped as JSON')
    .action(async (ref: string, o: { grace: string }, cmd: Command) => {
      const ctx = makeCtx(cmd, io);
      const graceMs = intFlag(o.grace, '--grace');
      const r = await ctx.api.post<{ reaped: number }>(`/v1/workspaces/${enc(ref)}/stop`, {
        graceMs,
      });
      if (ctx.json) return ctx.printJson(r);
      ctx.print(`stopped ${ref}: ${r.reaped} process${r.reaped === 1 ? '' : 'es'} reaped`);
    });
  ws.command('quota <ws>')
    .description('limits beside usage, and breaches')
    .option('--json', 'print limits, usage and breaches as JSON')
    .action(async (ref: string, _o, cmd: Command) => {
      const ctx = makeCtx(cmd, io);
      const q = await ctx.api.get<QuotaView>(`/v1/workspaces/${enc(ref)}/quota`);
      if (ctx.json) return ctx.printJson(q);
      printQuota(ctx, q);
    });
  ws.command('stats <ws>')
    .description('commands, RSS, CPU, uptime; --history draws sparklines')
    .option('--history', 'sparklines of RSS and CPU over the recorded samples')
    .option('--json', 'print the stats as JSON')
    .action(async (ref: string, o: { history?: boolean }, cmd: Command) => {
      const ctx = makeCtx(cmd, io);
      const s = await ctx.api.get<StatsView>(`/v1/workspaces/${enc(ref)}/stats`);
      if (ctx.json) return ctx.printJson(s);
      printStats(ctx, ref, s, o.history === true);
    });
}

function printWorkspaces(ctx: Ctx, list: WorkspaceView[]): void {
  if (list.length === 0) {
    ctx.print('no workspaces');
    return;
  }
  const rows = list.map((w) => [
    w.id,
    w.label,
    paintState(ctx.paint, w.state),
    `${w.commandsAlive}/${w.commandsTotal}`,
    w.pipelines,
    humanDuration(w.uptimeMs),
  ]);
  ctx.print(table(['ID', 'LABEL', 'STATE', 'COMMANDS', 'PIPELINES', 'UPTIME'], rows));
}

function limitText(value: number, show: (n: number) => string): string {
  return value === 0 ? 'none' : show(value);
}

function printQuota(ctx: Ctx, q: QuotaView): void {
  const rows = [
    [
      'memory',
      limitText(q.limits.memBytes, humanBytes),
      humanBytes(q.usage.memBytes),
      q.enforce.mem,
    ],
    ['nproc', limitText(q.limits.nproc, String), String(q.usage.nprocAlive), q.enforce.nproc],
    ['nofile', limitText(q.limits.nofile, String), '-', '-'],
  ];
  ctx.print(table(['RESOURCE', 'LIMIT', 'USAGE', 'ENFORCE'], rows));
  ctx.print(`source: ${q.source}`);
  if (q.breaches.length === 0) ctx.print('no breaches');
  for (const b of q.breaches) ctx.print(`${ctx.paint.red('breach:')} ${b}`);
}

function printStats(ctx: Ctx, ref: string, s: StatsView, history: boolean): void {
  ctx.print(
    keyValues([
      ['workspace', `${ref} (${s.workspaceId})`],
      ['commands', `${s.commandsAlive} alive / ${s.commandsTotal} total`],
      ['rss', `${humanBytes(s.rssBytes)} (peak ${humanBytes(s.rssPeakBytes)})`],
      ['cpu', `${s.cpuPercent}% (${s.cores} cores, ${humanDuration(s.cpuUs / 1000)} total)`],
      ['uptime', humanDuration(s.uptimeMs)],
      ['source', s.source],
    ]),
  );
  if (!history) return;
  if (s.history.length === 0) {
    ctx.print('history: no samples yet');
    return;
  }
  const rss = s.history.map((h) => h.rssBytes);
  const cpu = s.history.map((h) => h.cpuPermille);
  const range = (v: number[], f: (n: number) => string) =>
    `${f(Math.min(...v))} … ${f(Math.max(...v))}`;
  ctx.print(`rss  ${sparkline(rss)}  ${range(rss, humanBytes)}`);
  ctx.print(`cpu  ${sparkline(cpu)}  ${range(cpu, (p) => `${(p / 10).toFixed(1)}%`)}`);
  ctx.print(`${s.history.length} samples`);
}
