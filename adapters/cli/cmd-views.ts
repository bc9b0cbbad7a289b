/** `shipote ps` (every command and pipeline node) and `shipote status <ws> [<cmd>]`. */

import type { Command } from 'commander';
import type { CommandView, QuotaView, WorkspaceView } from '../../core/engine/api.js';
import type { ProcNode } from '../control/proc-tree.js';
import type { PsRow, PsView } from '../control/routes-ps.js';
import { enc } from './api.js';
import { paintState } from './colors.js';
import { completionScript } from './completion.js';
import { type Ctx, type Io, makeCtx } from './context.js';
import { humanBytes, humanDuration, keyValues, table } from './format.js';

export const PS_HEAD = ['WORKSPACE', 'LABEL', 'PID', 'STATE', 'CPU%', 'RSS', 'UPTIME', 'RESTARTS'];

/** Per-mille of a core as `12.5`. */
export function percentText(permille: number | null): string {
  return permille === null ? '-' : (permille / 10).toFixed(1);
}

export function psCells(ctx: Pick<Ctx, 'paint'>, r: PsRow, cpuPermille: number | null) {
  return [
    r.workspace,
    r.label,
    r.pid ?? '-',
    paintState(ctx.paint, r.state),
    percentText(cpuPermille),
    r.rssBytes === null ? '-' : humanBytes(r.rssBytes),
    r.uptimeMs === null ? '-' : humanDuration(r.uptimeMs),
    r.restarts,
  ];
}

export function addViewsCommands(program: Command, io: Io): void {
  program
    .command('ps')
    .description('every command and pipeline node of every workspace, with CPU, RSS, uptime')
    .option('--json', 'print the rows as JSON')
    .action(async (_o, cmd: Command) => {
      const ctx = makeCtx(cmd, io);
      const view = await ctx.api.get<PsView>('/v1/ps');
      if (ctx.json) return ctx.printJson(view.rows);
      if (view.rows.length === 0) return ctx.print('no commands');
      ctx.print(
        table(
          PS_HEAD,
          view.rows.map((r) => psCells(ctx, r, r.cpuPermille)),
        ),
      );
    });
  program
    .command('status <ws> [cmd]')
    .description('state, since when, process tree, limits and usage, the last 10 log lines')
    .option('--lines <n>', 'log lines to show', '10')
    .option('--json', 'print the workspace, quota, commands and process trees as JSON')
    .action(async (ref: string, c: string | undefined, o: { lines: string }, cmd: Command) => {
      const ctx = makeCtx(cmd, io);
      await printStatus(ctx, ref, c, Math.max(0, Number(o.lines) || 0));
    });
}

async function printStatus(
  ctx: Ctx,
  ref: string,
  cmdRef: string | undefined,
  lines: number,
): Promise<void> {
  const ws = await ctx.api.get<WorkspaceView>(`/v1/workspaces/${enc(ref)}`);
  const quota = await ctx.api.get<QuotaView>(`/v1/workspaces/${enc(ref)}/quota`);
  let cmds = await ctx.api.get<CommandView[]>(`/v1/workspaces/${enc(ref)}/commands`);
  if (cmdRef !== undefined) {
    const one = await ctx.api.get<CommandView>(
      `/v1/workspaces/${enc(ref)}/commands/${enc(cmdRef)}`,
    );
    cmds = [one];
  }
  const ps = await ctx.api.get<PsView>('/v1/ps?tree=1');
  const rows = new Map(ps.rows.map((r) => [r.id, r]));
  const logs = cmdRef === undefined ? [] : await lastLines(ctx, ref, cmdRef, lines);
  if (ctx.json) {
    const commands = cmds.map((c) => ({ ...c, ps: rows.get(c.id) ?? null }));
    return ctx.printJson({ workspace: ws, quota, commands, logs });
  }
  ctx.print(`${ctx.paint.bold(ws.label)} (${ws.id})`);
  const since = new Date(ws.createdAtWallMs).toISOString();
  ctx.print(
    keyValues([
      ['state', paintState(ctx.paint, ws.state)],
      ['since', `${since} (${humanDuration(ws.uptimeMs)} ago)`],
      ['commands', `${ws.commandsAlive} alive of ${ws.commandsTotal}`],
      ['memory', `${humanBytes(quota.usage.memBytes)} of ${limitText(quota.limits.memBytes)}`],
      ['processes', `${quota.usage.nprocAlive} of ${limitText(quota.limits.nproc, false)}`],
      ['nofile', limitText(quota.limits.nofile, false)],
      ['usage from', quota.source],
    ]),
  );
  for (const b of quota.breaches) ctx.print(ctx.paint.red(`breach: ${b}`));
  for (const c of cmds) printCommand(ctx, c, rows.get(c.id));
  if (cmdRef !== undefined) {
    ctx.print(`\nlast ${logs.length} log lines:`);
    for (const line of logs) ctx.print(`  ${line}`);
  }
}

function limitText(value: number, bytes = true): string {
  if (!(value > 0)) return 'no limit';
  return bytes ? humanBytes(value) : String(value);
}

function printCommand(ctx: Ctx, c: CommandView, row: PsRow | undefined): void {
  const since = c.startedAtWallMs > 0 ? new Date(c.startedAtWallMs).toISOString() : '-';
  ctx.print(
    `\n${ctx.paint.bold(c.label)} (${c.id}): ${paintState(ctx.paint, c.state)} since ${since}`,
  );
  const usage = row?.rssBytes != null ? `, ${humanBytes(row.rssBytes)} RSS` : '';
  const cpu = row?.cpuPermille != null ? `, ${percentText(row.cpuPermille)}% CPU` : '';
  ctx.print(`  pid ${c.pid ?? '-'}, restarts ${c.restarts}${usage}${cpu}`);
  if (row?.tree) for (const line of treeLines(row.tree, '  ')) ctx.print(line);
}

/** `├─ 123 node (24.00 MiB)` lines, like `systemctl status`'s CGroup tree. */
export function treeLines(node: ProcNode, indent: string): string[] {
  const out = [`${indent}${node.pid} ${node.comm} (${humanBytes(node.rssBytes)})`];
  node.children.forEach((child, i) => {
    const last = i === node.children.length - 1;
    const sub = treeLines(child, '');
    out.push(`${indent}${last ? '└─' : '├─'}${sub[0]}`);
    for (const l of sub.slice(1)) out.push(`${indent}${last ? '  ' : '│ '}${l}`);
  });
  return out;
}

/** The last `n` lines of a command's captured output. */
async function lastLines(ctx: Ctx, ws: string, cmd: string, n: number): Promise<string[]> {
  if (n === 0) return [];
  const chunks: Buffer[] = [];
  const q = new URLSearchParams({ which: 'both', lines: String(n) });
  await ctx.api.stream(`/v1/workspaces/${enc(ws)}/commands/${enc(cmd)}/logs?${q}`, (c) => {
    chunks.push(c);
  });
  const text = Buffer.concat(chunks).toString('utf8').replace(/\n$/, '');
  return text === '' ? [] : text.split('\n').slice(-n);
}

export function addCompletionCommand(program: Command, io: Io): void {
  program
    .command('completion <shell>')
    .description('print a completion script for bash, zsh or fish')
    .addHelpText(
      'after',
      '\nbash: source <(shipote completion bash)\nzsh:  source <(shipote completion zsh)' +
        '\nfish: shipote completion fish | source',
    )
    .action((shell: string) => {
      io.out(completionScript(program, shell));
    });
}
