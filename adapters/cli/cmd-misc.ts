/** `shipote caps`, `health`, `doctor`, `events [-f]`. */

import type { Command } from 'commander';
import type { HealthView } from '../../core/engine/api.js';
import type { LifecycleEvent } from '../../core/ports.js';
import type { DoctorView } from '../control/types.js';
import { formatEvent } from '../store/logfmt.js';
import { addViewCommand, type Io, intFlag, makeCtx } from './context.js';
import { CliError, exitFailed } from './errors.js';
import { humanDuration, keyValues } from './format.js';

function flatPairs(obj: Record<string, unknown>): [string, string][] {
  return Object.entries(obj).map(([k, v]) => [
    k,
    Array.isArray(v) ? v.join(', ') || '-' : v === null ? '-' : String(v),
  ]);
}

/** Splits a server-sent event stream into the JSON of each `data:` line. */
export function sseParser(onData: (json: string) => void): (chunk: Buffer) => void {
  let buffer = '';
  return (chunk) => {
    buffer += chunk.toString('utf8');
    let end = buffer.indexOf('\n\n');
    while (end >= 0) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      for (const line of frame.split('\n')) {
        if (line.startsWith('data: ')) onData(line.slice(6));
      }
      end = buffer.indexOf('\n\n');
    }
  };
}

export function addMiscCommands(program: Command, io: Io): void {
  const caps = {
    name: 'caps',
    description: 'cgroup version, delegation, user namespaces, pidfd',
    json: 'print the capabilities as JSON',
    path: '/v1/caps',
  };
  addViewCommand<Record<string, unknown>>(program, io, caps, (ctx, c) =>
    ctx.print(keyValues(flatPairs(c))),
  );
  const health = {
    name: 'health',
    description: 'alive workspaces, commands, pipelines, flows',
    json: 'print the counts as JSON',
    path: '/v1/health',
  };
  addViewCommand<HealthView>(program, io, health, (ctx, h) =>
    ctx.print(keyValues(flatPairs({ ...h }))),
  );
  const doctor = {
    name: 'doctor',
    description: 'caps, reachability, snapshot health, recent failures and their fixes',
    json: 'print the diagnosis as JSON',
    path: '/v1/doctor',
    // Scripts and CI can use it: a listed problem makes the exit status 1.
    check: (d: DoctorView) => {
      const problems = d.findings.length + (d.snapshot.ok ? 0 : 1);
      if (problems > 0) {
        throw new CliError(
          exitFailed,
          `doctor: ${problems} problem${problems > 1 ? 's' : ''} found`,
        );
      }
    },
  };
  addViewCommand<DoctorView>(program, io, doctor, (ctx, d) => printDoctor((l) => ctx.print(l), d));
  program
    .command('events')
    .description('lifecycle events (logfmt); -f follows new ones')
    .option('-f, --follow', 'keep printing new events')
    .option('--history <n>', 'past events to print first', '100')
    .option('--json', 'one event as JSON per line')
    .action(async (o: { follow?: boolean; history: string }, cmd: Command) => {
      const ctx = makeCtx(cmd, io);
      const q = new URLSearchParams({ history: String(intFlag(o.history, '--history')) });
      if (o.follow) q.set('follow', '1');
      const onData = (json: string) => {
        const event = JSON.parse(json) as LifecycleEvent;
        ctx.print(ctx.json ? JSON.stringify(event) : formatEvent(event));
      };
      await ctx.api.stream(`/v1/events?${q}`, sseParser(onData));
    });
}

function printDoctor(print: (line: string) => void, d: DoctorView): void {
  print(
    `daemon: reachable at ${d.daemon.socket} (pid ${d.daemon.pid}, up ${humanDuration(
      d.daemon.uptimeMs,
    )})`,
  );
  print(
    `snapshot: ${d.snapshot.path} — ${d.snapshot.ok ? 'ok' : 'NEEDS ATTENTION'}: ${
      d.snapshot.message
    }`,
  );
  const caps = (d.caps ?? {}) as Record<string, unknown>;
  print(`cgroups: ${String(caps.version)}, delegated: ${String(caps.delegated)}`);
  const reasons = Array.isArray(caps.reasons) ? (caps.reasons as string[]) : [];
  for (const r of reasons) print(`  - ${r}`);
  print(`user namespaces: ${String(caps.userNamespaces)}, pidfd: ${String(caps.pidfd)}`);
  if (d.findings.length === 0) {
    print('no recent crash loops, quota kills or give-ups');
    return;
  }
  for (const f of d.findings) {
    print(`problem: ${f.what}`);
    print(`  fix: ${f.fix}`);
  }
}
