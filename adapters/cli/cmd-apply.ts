/**
 * `shipote apply <file> [--dry-run] [--prune]`, the per-command controls `stop`, `rm`,
 * `pipeline restart` (contract §7).
 */

import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import type { PipelineView } from '../../core/engine/api.js';
import type { ApplyReply } from '../control/routes-apply.js';
import { enc } from './api.js';
import { type Ctx, type Io, intFlag, makeCtx } from './context.js';
import { CliError, exitFailed } from './errors.js';

interface ApplyFlags {
  dryRun?: boolean;
  prune?: boolean;
}

export function addApplyCommands(program: Command, io: Io): void {
  program
    .command('apply <file>')
    .description('create, update and (with --prune) remove what an apply file declares')
    .option('--dry-run', 'print the plan; change nothing')
    .option('--prune', 'also remove what the file does not name')
    .option('--json', 'print the plan and results as JSON')
    .action(async (file: string, o: ApplyFlags, cmd: Command) => {
      const ctx = makeCtx(cmd, io);
      const path = resolve(file);
      const source = readApplyFile(path);
      const body = { source, baseDir: dirname(path), prune: o.prune === true, dryRun: o.dryRun };
      const reply = await ctx.api.post<ApplyReply>('/v1/apply', body, file);
      if (ctx.json) return ctx.printJson(reply);
      printApply(ctx, reply);
    });
  addCommandControl(program, io);
}

function readApplyFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new CliError(exitFailed, `cannot read apply file ${path}: ${code}`);
  }
}

/** The plan, then a summary; `nothing changed` when there was nothing to do. */
export function printApply(ctx: Ctx, reply: ApplyReply): void {
  const unchanged = `${reply.unchanged.length} unchanged`;
  if (reply.plan.length === 0) {
    ctx.print(`nothing changed (${unchanged})`);
    return;
  }
  const n = reply.plan.length;
  const actions = `${n} action${n === 1 ? '' : 's'}`;
  const summary = reply.dryRun
    ? `dry run: ${actions} planned, ${unchanged}; nothing applied`
    : `applied ${actions}, ${unchanged}`;
  // One write: a plan of hundreds of lines is not hundreds of writes to stdout.
  ctx.print([...reply.plan, summary].join('\n'));
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 'es'}`;
}

function addCommandControl(program: Command, io: Io): void {
  program
    .command('stop <ws> <cmd>')
    .description('stop one command: SIGTERM, grace, SIGKILL; it is not restarted')
    .option('--grace <ms>', 'grace period in ms', '1000')
    .option('--json', 'print the number reaped as JSON')
    .action(async (ref: string, c: string, o: { grace: string }, cmd: Command) => {
      const ctx = makeCtx(cmd, io);
      const graceMs = intFlag(o.grace, '--grace');
      const path = `/v1/workspaces/${enc(ref)}/commands/${enc(c)}/stop`;
      const r = await ctx.api.post<{ reaped: number }>(path, { graceMs });
      if (ctx.json) return ctx.printJson(r);
      ctx.print(`stopped ${c}: ${plural(r.reaped, 'process')} reaped`);
    });
  program
    .command('rm <ws> <cmd>')
    .description('stop one command (if alive) and forget it')
    .option('--grace <ms>', 'grace period in ms', '1000')
    .option('--json', 'print the removed id and label as JSON')
    .action(async (ref: string, c: string, o: { grace: string }, cmd: Command) => {
      const ctx = makeCtx(cmd, io);
      const graceMs = intFlag(o.grace, '--grace') ?? 1000;
      const path = `/v1/workspaces/${enc(ref)}/commands/${enc(c)}?grace=${graceMs}`;
      const r = await ctx.api.call<{ removed: string; label: string }>('DELETE', path);
      if (ctx.json) return ctx.printJson(r);
      ctx.print(`removed ${r.label} (${r.removed})`);
    });
  const pipeline = program.commands.find((c) => c.name() === 'pipeline');
  if (pipeline === undefined) throw new Error('cmd-apply: register after the pipeline commands');
  pipeline
    .command('restart <pipeline>')
    .description('stop a pipeline and run it again (by id or label)')
    .option('--json', 'print the restarted pipeline as JSON')
    .action(async (ref: string, _o, cmd: Command) => {
      const ctx = makeCtx(cmd, io);
      const view = await ctx.api.post<PipelineView>(`/v1/pipelines/${enc(ref)}/restart`);
      if (ctx.json) return ctx.printJson(view);
      const pids = view.nodes.map((n) => `${n.label}=${n.pid ?? '-'}`).join(' ');
      ctx.print(`restarted ${view.label} (${view.id}) ${pids}`);
    });
}
