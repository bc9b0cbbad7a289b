/**
 * `shipote worker create|push|ls|tasks|retry|drop` (contract §9): ephemeral workers fed
 * from a durable serial queue. `push` prints the task id only once the daemon answered,
 * which it does after the task is committed to disk.
 */

import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { WorkerView } from '../../core/engine/worker-api.js';
import type { TaskJson } from '../control/routes-workers.js';
import { enc } from './api.js';
import { type Ctx, collectPair, type Io, intFlag, makeCtx } from './context.js';
import { CliError, exitFailed, usage } from './errors.js';
import { table } from './format.js';

interface CreateFlags {
  name: string;
  restartBackoffMs?: string;
  restartBackoffMaxMs?: string;
  timeoutMs?: string;
  killGraceMs?: string;
  crashLoopMax?: string;
  env: string[];
  cwd?: string;
  json?: boolean;
}

/** The create request body: exec and argv after `--`, flags mapped to the API's fields. */
export function createBody(ws: string, command: string[], flags: CreateFlags) {
  const [exec, ...rest] = command;
  if (!exec) throw usage('worker create: expected the command after --, e.g. -- /bin/cat');
  const body: Record<string, unknown> = {
    workspace: ws,
    name: flags.name,
    exec,
    argv: rest,
    envp: flags.env,
  };
  if (flags.cwd) body.cwd = flags.cwd;
  const ints: [keyof CreateFlags, string, string][] = [
    ['restartBackoffMs', '--restart-backoff-ms', 'backoffMsInitial'],
    ['restartBackoffMaxMs', '--restart-backoff-max-ms', 'backoffMsMax'],
    ['timeoutMs', '--timeout-ms', 'timeoutMs'],
    ['killGraceMs', '--kill-grace-ms', 'killGraceMs'],
    ['crashLoopMax', '--crash-loop-max', 'crashLoopMax'],
  ];
  for (const [key, flag, field] of ints) {
    const value = intFlag(flags[key] as string | undefined, flag);
    if (value !== undefined) body[field] = value;
  }
  return body;
}

function lastText(w: WorkerView): string {
  const last = w.last;
  if (!last) return '-';
  if (last.code === 0 && last.reason === 'exit') return 'ok';
  if (last.reason === 'timeout') return 'timeout';
  if (last.signal) return last.signal;
  return last.reason === 'spawn-failed' ? 'spawn-failed' : `exit ${last.code}`;
}

export function renderWorkers(ctx: Ctx, views: WorkerView[]): void {
  if (views.length === 0) {
    ctx.print('no workers');
    return;
  }
  const rows = views.map((w) => [
    w.name,
    w.state,
    w.depth,
    w.running ? `${w.running.taskId} (pid ${w.running.pid}, #${w.running.attempt})` : '-',
    w.done,
    w.failed,
    lastText(w),
    w.dead,
  ]);
  ctx.print(table(['NAME', 'STATE', 'DEPTH', 'RUNNING', 'DONE', 'FAILED', 'LAST', 'DEAD'], rows));
  for (const w of views) {
    if (w.held) ctx.print(`${w.name}: waiting: ${w.held}`);
    for (const d of w.deadLetters) {
      ctx.print(
        `${w.name}: dead letter ${d.id} after ${d.attempt} attempts ` +
          `(${d.last.reason} ${d.last.signal ?? d.last.code}); ` +
          `fix: shipote worker retry ${w.name} ${d.id}`,
      );
    }
  }
}

function renderTasks(ctx: Ctx, tasks: TaskJson[], dead: boolean): void {
  if (tasks.length === 0) {
    ctx.print(dead ? 'no dead letters' : 'no tasks');
    return;
  }
  const head = ['ID', 'SEQ', 'ATTEMPT', 'STATE', 'BYTES'];
  const rows = tasks.map((t) => [t.id, t.seq, t.attempt, t.state, t.bytes]);
  if (!dead) {
    ctx.print(table(head, rows));
    return;
  }
  const deadRows = tasks.map((t, i) => [
    ...(rows[i] ?? []),
    t.last ? `${t.last.reason} ${t.last.signal ?? t.last.code}` : '-',
    (t.last?.stderrTail ?? '').trim().split('\n').pop()?.slice(0, 60) ?? '',
  ]);
  ctx.print(table([...head, 'LAST', 'STDERR'], deadRows));
}

/** The task bytes: `--file F`, `-` or nothing (stdin), or the trailing text argument. */
async function taskBytes(text: string | undefined, file: string | undefined): Promise<Uint8Array> {
  if (file !== undefined && text !== undefined && text !== '-') {
    throw usage('worker push: give the task as text or with --file, not both');
  }
  if (file !== undefined && file !== '-') {
    try {
      return new Uint8Array(readFileSync(file));
    } catch (cause) {
      throw new CliError(exitFailed, `--file ${file}: ${(cause as Error).message}`);
    }
  }
  if (text !== undefined && text !== '-') return new TextEncoder().encode(text);
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return new Uint8Array(Buffer.concat(chunks));
}

function addCreate(worker: Command, io: Io): void {
  worker
    .command('create <ws> <command...>')
    .description('declare a worker in workspace <ws>: each task runs `command` with it on stdin')
    .requiredOption('--name <name>', 'worker name (1-63 of [A-Za-z0-9._-])')
    .option('--restart-backoff-ms <ms>', 'first retry delay after a failure (default 200)')
    .option('--restart-backoff-max-ms <ms>', 'retry delay cap (default 30000)')
    .option('--timeout-ms <ms>', 'end a task running longer than this (default: none)')
    .option('--kill-grace-ms <ms>', 'after --timeout-ms: SIGTERM, then SIGKILL this later (5000)')
    .option('--crash-loop-max <n>', 'failures of one task in 5 min before it is dead (3)')
    .option('--env <NAME=value>', 'environment for every task (repeatable)', collectPair, [])
    .option('--cwd <dir>', 'working directory of the tasks')
    .option('--json', 'print the worker as JSON')
    .action(async (ws: string, command: string[], flags: CreateFlags, cmd: Command) => {
      const ctx = makeCtx(cmd, io);
      const view = await ctx.api.post<WorkerView>('/v1/workers', createBody(ws, command, flags));
      if (ctx.json) return ctx.printJson(view);
      ctx.print(
        `${view.name} created in ${view.workspaceId}: ${[view.exec, ...view.argv].join(' ')}`,
      );
    });
}

function addPush(worker: Command, io: Io): void {
  worker
    .command('push <name> [task]')
    .description('queue a task (the text, --file F, or stdin with - or nothing); prints its id')
    .option('--file <file>', 'read the task from a file (- for stdin)')
    .option('--json', 'print the task id and its sequence number as JSON')
    .action(async (name: string, text: string | undefined, o: { file?: string }, cmd: Command) => {
      const ctx = makeCtx(cmd, io);
      const bytes = await taskBytes(text, o.file);
      const path = `/v1/workers/${enc(name)}/tasks`;
      const ack = await ctx.api.post<{ id: string; seq: number }>(path, bytes);
      if (ctx.json) return ctx.printJson(ack);
      ctx.print(ack.id);
    });
}

function addReads(worker: Command, io: Io): void {
  worker
    .command('ls')
    .description('workers: depth, running task and pid, done/failed, last result, dead letters')
    .option('--json', 'print the workers as JSON')
    .action(async (_o, cmd: Command) => {
      const ctx = makeCtx(cmd, io);
      const views = await ctx.api.get<WorkerView[]>('/v1/workers');
      if (ctx.json) return ctx.printJson(views);
      renderWorkers(ctx, views);
    });
  worker
    .command('tasks <name>')
    .description('the queued tasks of a worker, in delivery order (--dead: its dead letters)')
    .option('--dead', 'list the dead letters instead')
    .option('--json', 'print the tasks as JSON (payload in base64)')
    .action(async (name: string, o: { dead?: boolean }, cmd: Command) => {
      const ctx = makeCtx(cmd, io);
      const q = o.dead ? '?dead=1' : '';
      const tasks = await ctx.api.get<TaskJson[]>(`/v1/workers/${enc(name)}/tasks${q}`);
      if (ctx.json) return ctx.printJson(tasks);
      renderTasks(ctx, tasks, o.dead === true);
    });
}

function addChanges(worker: Command, io: Io): void {
  worker
    .command('retry <name> <task>')
    .description('put a dead letter back at the tail of the queue, its attempt count kept')
    .option('--json', 'print the task as JSON')
    .action(async (name: string, task: string, _o, cmd: Command) => {
      const ctx = makeCtx(cmd, io);
      const path = `/v1/workers/${enc(name)}/tasks/${enc(task)}/retry`;
      const t = await ctx.api.post<TaskJson>(path);
      if (ctx.json) return ctx.printJson(t);
      ctx.print(`${t.id} queued again (seq ${t.seq})`);
    });
  worker
    .command('drop <name>')
    .description('remove a worker (refused while tasks remain, unless --force)')
    .option('--force', 'discard its queued tasks and kill the running one')
    .option('--json', 'print the result as JSON')
    .action(async (name: string, o: { force?: boolean }, cmd: Command) => {
      const ctx = makeCtx(cmd, io);
      const q = o.force ? '?force=1' : '';
      const r = await ctx.api.call<{ dropped: string }>('DELETE', `/v1/workers/${enc(name)}${q}`);
      if (ctx.json) return ctx.printJson(r);
      ctx.print(`${r.dropped} dropped`);
    });
}

export function addWorkerCommands(program: Command, io: Io): void {
  const worker = program
    .command('worker')
    .description('ephemeral workers: one fresh process per task, from a durable queue');
  addCreate(worker, io);
  addPush(worker, io);
  addReads(worker, io);
  addChanges(worker, io);
}
