/** `shipote pipeline run|stop|save|list|run-saved|drop` and `shipote flow list|tail`. */

import { connect } from 'node:net';
import type { Command } from 'commander';
import type { PipelineView, SavedPipelineView } from '../../core/engine/api.js';
import { parsePipelineToml } from '../../core/manifest/index.js';
import type { FlowView } from '../control/types.js';
import { enc } from './api.js';
import { readSpecFile } from './cmd-workspace.js';
import { paintState } from './colors.js';
import {
  addViewCommand,
  type Ctx,
  collectPair,
  type Io,
  intFlag,
  makeCtx,
  pairsToRecord,
} from './context.js';
import { CliError, exitFailed, exitNotFound } from './errors.js';
import { confidence, humanBytes, table } from './format.js';

export const verdictDeadlineMs = 10_000;
const verdictPollMs = 50;

interface RunFlags {
  tap?: boolean;
  tail?: boolean;
  var: string[];
  json?: boolean;
}

/** `<from-label>.<output>-><to-label>` for every edge of the spec (or `edge<i>`). */
export function edgeNames(source: string, vars: Record<string, string>): string[] {
  const parsed = parsePipelineToml(source, vars);
  if (!parsed.ok) return [];
  const { nodes, edges } = parsed.value;
  return edges.map((e) => {
    const from = nodes[e.from]?.label ?? String(e.from);
    const to = nodes[e.to]?.label ?? String(e.to);
    return `${from}.${e.fromOutput}->${to}`;
  });
}

export function verdictLine(name: string, v: PipelineView['verdicts'][number]): string {
  return `${name} ty=${v.ty} mime=${v.mime} conf=${confidence(v.confPermille)}`;
}

/** Waits until every tapped edge has a verdict, the pipeline ends, or the deadline. */
async function awaitVerdicts(ctx: Ctx, view: PipelineView): Promise<PipelineView> {
  let current = view;
  const until = Date.now() + verdictDeadlineMs;
  while (current.verdicts.length < current.taps.length && Date.now() < until) {
    await new Promise((r) => setTimeout(r, verdictPollMs));
    current = await ctx.api.get<PipelineView>(`/v1/pipelines/${enc(view.id)}`);
    if (current.state !== 'running' && current.state !== 'backoff') {
      if (current.verdicts.length >= current.taps.length) break;
    }
  }
  return current;
}

async function afterRun(ctx: Ctx, view: PipelineView, source: string, flags: RunFlags) {
  const vars = pairsToRecord(flags.var, '--var');
  let current = view;
  if (flags.tap) current = await awaitVerdicts(ctx, view);
  if (ctx.json) ctx.printJson(current);
  else {
    ctx.print(`${current.id} ${current.label} ${current.state} (${current.nodes.length} nodes)`);
    const names = edgeNames(source, vars);
    if (flags.tap) {
      for (const v of current.verdicts) {
        ctx.print(verdictLine(names[v.edgeIndex] ?? `edge${v.edgeIndex}`, v));
      }
      for (const t of current.taps) {
        ctx.print(`flow ${names[t.edgeIndex] ?? `edge${t.edgeIndex}`} ${t.socketPath}`);
      }
    }
  }
  const first = current.taps[0];
  if (flags.tail && first) await tailFlow(first.socketPath, ctx.io);
}

async function runSource(ctx: Ctx, path: string, body: unknown, flags: RunFlags, src: string) {
  const view = await ctx.api.post<PipelineView>(path, body, 'pipeline spec');
  await afterRun(ctx, view, src, flags);
}

export function addPipelineCommands(program: Command, io: Io): void {
  const pl = program.command('pipeline').description('run, stop, save and list pipelines');
  pl.command('run <spec>')
    .description('run a pipeline from a TOML spec')
    .option('--tap', 'print each edge verdict and its flow socket')
    .option('--tail', 'stream the first flow to stdout until the producer ends')
    .option('--var <K=V>', 'template variable (repeatable)', collectPair, [])
    .option('--json', 'print the pipeline as JSON')
    .action(async (file: string, o: RunFlags, cmd: Command) => {
      const ctx = makeCtx(cmd, io);
      const source = readSpecFile(file);
      const vars = pairsToRecord(o.var, '--var');
      const body = { source, vars, tap: o.tap === true || o.tail === true };
      const view = await ctx.api.post<PipelineView>('/v1/pipelines', body, file);
      await afterRun(ctx, view, source, o);
    });
  pl.command('stop <id>')
    .description("stop that pipeline's processes")
    .option('--grace <ms>', 'grace period in ms', '1000')
    .option('--json', 'print the number of processes reaped as JSON')
    .action(async (id: string, o: { grace: string }, cmd: Command) => {
      const ctx = makeCtx(cmd, io);
      const graceMs = intFlag(o.grace, '--grace');
      const r = await ctx.api.post<{ reaped: number }>(`/v1/pipelines/${enc(id)}/stop`, {
        graceMs,
      });
      if (ctx.json) return ctx.printJson(r);
      ctx.print(`stopped ${id}: ${r.reaped} process${r.reaped === 1 ? '' : 'es'} reaped`);
    });
  pl.command('save <name> <spec>')
    .description('save a pipeline spec (templates unexpanded) under a name')
    .option('--json', 'print the saved pipeline as JSON')
    .action(async (name: string, file: string, _o, cmd: Command) => {
      const ctx = makeCtx(cmd, io);
      const source = readSpecFile(file);
      const saved = await ctx.api.call<SavedPipelineView>(
        'PUT',
        `/v1/saved-pipelines/${enc(name)}`,
        { source },
        file,
      );
      if (ctx.json) return ctx.printJson(saved);
      ctx.print(`saved ${saved.name}`);
    });
  addPipelineReadCommands(pl, io);
}

function addPipelineReadCommands(pl: Command, io: Io): void {
  pl.command('list')
    .description('running and saved pipelines')
    .option('--json', 'print running and saved pipelines as JSON')
    .action(async (_o, cmd: Command) => {
      const ctx = makeCtx(cmd, io);
      const running = await ctx.api.get<PipelineView[]>('/v1/pipelines');
      const saved = await ctx.api.get<SavedPipelineView[]>('/v1/saved-pipelines');
      if (ctx.json) return ctx.printJson({ running, saved });
      if (running.length === 0) ctx.print('no pipelines');
      else {
        const rows = running.map((p) => [
          p.id,
          p.label,
          paintState(ctx.paint, p.state),
          p.supervised ? 'yes' : 'no',
          p.restarts,
          `${p.nodes.filter((n) => n.alive).length}/${p.nodes.length}`,
        ]);
        ctx.print(table(['ID', 'LABEL', 'STATE', 'SUPERVISED', 'RESTARTS', 'ALIVE'], rows));
      }
      if (saved.length > 0) {
        ctx.print('');
        ctx.print(
          table(
            ['SAVED', 'BYTES'],
            saved.map((s) => [s.name, s.source.length]),
          ),
        );
      }
    });
  pl.command('run-saved <name>')
    .description('run a saved pipeline with template variables')
    .option('--var <K=V>', 'template variable (repeatable)', collectPair, [])
    .option('--tap', 'print each edge verdict and its flow socket')
    .option('--tail', 'stream the first flow to stdout until the producer ends')
    .option('--json', 'print the pipeline as JSON')
    .action(async (name: string, o: RunFlags, cmd: Command) => {
      const ctx = makeCtx(cmd, io);
      const saved = await ctx.api.get<SavedPipelineView>(`/v1/saved-pipelines/${enc(name)}`);
      const vars = pairsToRecord(o.var, '--var');
      const body = { vars, tap: o.tap === true || o.tail === true };
      await runSource(ctx, `/v1/saved-pipelines/${enc(name)}/run`, body, o, saved.source);
    });
  pl.command('drop <name>')
    .description('forget a saved pipeline')
    .action(async (name: string, _o, cmd: Command) => {
      const ctx = makeCtx(cmd, io);
      await ctx.api.call('DELETE', `/v1/saved-pipelines/${enc(name)}`);
      ctx.print(`dropped ${name}`);
    });
}

/** Copies a flow socket to stdout until the writer closes it. */
export function tailFlow(socketPath: string, io: Io): Promise<void> {
  return new Promise((resolve, reject) => {
    const sock = connect(socketPath);
    sock.on('data', (chunk) => io.out(chunk));
    sock.on('end', () => resolve());
    sock.on('close', () => resolve());
    sock.on('error', (err: NodeJS.ErrnoException) => {
      const gone = err.code === 'ENOENT' || err.code === 'ECONNREFUSED';
      const code = gone ? exitNotFound : exitFailed;
      reject(new CliError(code, `flow ${socketPath}: ${gone ? 'no such flow' : err.message}`));
    });
  });
}

export function addFlowCommands(program: Command, io: Io): void {
  const flow = program.command('flow').description('flow sockets of tapped edges');
  const list = {
    name: 'list',
    description: 'flow sockets: a table on a terminal, else one socket path per line',
    json: 'print the flows as JSON',
    path: '/v1/flows',
  };
  addViewCommand<FlowView[]>(flow, io, list, (ctx, flows) => {
    // Like ls: a script (`flow list | grep shipote-flow`) gets bare paths.
    if (!ctx.io.tty) {
      for (const f of flows) ctx.print(f.socketPath);
      return;
    }
    if (flows.length === 0) return ctx.print('no flows');
    const rows = flows.map((f) => [
      f.socketPath,
      f.key,
      f.edgeIndex,
      humanBytes(f.bytesTotal),
      `${humanBytes(f.bytesPerSec)}/s`,
      f.readers ?? '-',
    ]);
    ctx.print(table(['SOCKET', 'PIPELINE', 'EDGE', 'BYTES', 'RATE', 'READERS'], rows));
  });
  flow
    .command('tail <socket>')
    .description('copy the bytes of a flow socket to stdout')
    .action(async (socketPath: string) => tailFlow(socketPath, io));
}
