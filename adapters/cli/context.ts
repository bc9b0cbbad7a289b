/** What every command action gets: the API client, output sinks and global flags. */

import type { Command } from 'commander';
import { resolveSocketPath } from '../store/paths.js';
import { Api } from './api.js';
import { type Paint, paintFor } from './colors.js';
import { usage } from './errors.js';

export interface Io {
  out(text: string | Uint8Array): void;
  /** Resolves once stdout has room again (after a write it could not take at once). */
  drained?(): Promise<void> | undefined;
  err(text: string): void;
  env: NodeJS.ProcessEnv;
  uid: number;
  /** Colour on stdout (a terminal and no NO_COLOR). */
  color: boolean;
  /** stdout is a terminal (lists print tables there, one item per line elsewhere). */
  tty?: boolean;
}

export interface Ctx {
  api: Api;
  json: boolean;
  io: Io;
  socketPath: string;
  paint: Paint;
  /** Print a line (adds the newline). */
  print(line: string): void;
  /** Print a value as pretty JSON. */
  printJson(value: unknown): void;
}

export function makeCtx(cmd: Command, io: Io): Ctx {
  const opts = cmd.optsWithGlobals() as { socket?: string; json?: boolean };
  const socketPath = resolveSocketPath(io.env, io.uid, opts.socket);
  const api = new Api({
    socketPath,
    autostart: io.env.SHIPOTE_NO_AUTOSTART !== '1',
    say: (line) => io.err(`shipote: ${line}\n`),
  });
  return {
    api,
    json: opts.json === true,
    io,
    socketPath,
    paint: paintFor(io.color),
    print: (line) => io.out(`${line}\n`),
    printJson: (value) => io.out(`${JSON.stringify(value, null, 2)}\n`),
  };
}

/** A read command without arguments: GET `path`; `--json` prints the view, else `render` it. */
export function addViewCommand<T>(
  parent: Command,
  io: Io,
  def: {
    name: string;
    description: string;
    json: string;
    path: string;
    /** After printing (with or without --json): throws to fail on what the view says. */
    check?: (view: T) => void;
  },
  render: (ctx: Ctx, view: T) => void,
): void {
  parent
    .command(def.name)
    .description(def.description)
    .option('--json', def.json)
    .action(async (_o, cmd: Command) => {
      const ctx = makeCtx(cmd, io);
      const view = await ctx.api.get<T>(def.path);
      if (ctx.json) ctx.printJson(view);
      else render(ctx, view);
      def.check?.(view);
    });
}

/** `K=V` pairs from repeated `--var`/`--env` flags. */
export function collectPair(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function pairsToRecord(pairs: string[], flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw usage(`${flag} expects NAME=value, got "${pair}"`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

/** A non-negative integer flag, or a usage error naming the flag. */
export function intFlag(raw: string | undefined, flag: string): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 0) {
    throw usage(`${flag} expects a non-negative integer, got "${raw}"`);
  }
  return value;
}
