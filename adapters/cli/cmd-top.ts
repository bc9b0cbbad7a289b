/**
 * `shipote top`: a live full-screen view of `ps`, refreshed in place, `q` quits.
 * Plain ANSI on the alternate screen with readline's raw keypress mode: the view is one
 * table, so a terminal UI library (ink brings React, blessed is unmaintained, terminal-kit
 * is large) would add more than it saves. CPU % is recent: the difference of two `cpuUs`
 * readings over the wall time between them.
 */

import { emitKeypressEvents } from 'node:readline';
import { stripVTControlCharacters } from 'node:util';
import type { Command } from 'commander';
import type { PsRow, PsView } from '../control/routes-ps.js';
import { PS_HEAD, psCells } from './cmd-views.js';
import { type Ctx, type Io, intFlag, makeCtx } from './context.js';
import { usage } from './errors.js';
import { humanBytes, table } from './format.js';

const ESC = '\x1b[';
const enterScreen = `${ESC}?1049h${ESC}?25l`;
const leaveScreen = `${ESC}?25h${ESC}?1049l`;
const home = `${ESC}H`;
const clearBelow = `${ESC}J`;
const clearLineEnd = `${ESC}K`;

export const topIntervalMsDefault = 1000;

/** Recent CPU per-mille of each row, from the previous sample of the same command id. */
export function recentCpu(prev: PsView | null, next: PsView): Map<string, number | null> {
  const before = new Map(prev?.rows.map((r) => [r.id, r]) ?? []);
  const out = new Map<string, number | null>();
  for (const r of next.rows) {
    const p = before.get(r.id);
    const spanMs = prev ? next.wallMs - prev.wallMs : 0;
    if (!p || p.pid !== r.pid || r.cpuUs === null || p.cpuUs === null || spanMs <= 0) {
      out.set(r.id, r.cpuPermille);
    } else {
      out.set(r.id, Math.max(0, Math.round((r.cpuUs - p.cpuUs) / spanMs)));
    }
  }
  return out;
}

/** The whole screen: a header line, the table, cut to the terminal's size. */
export function renderTop(
  ctx: Pick<Ctx, 'paint'>,
  view: PsView,
  cpu: Map<string, number | null>,
  size: { columns: number; rows: number },
): string {
  const alive = view.rows.filter((r) => r.alive);
  const rss = alive.reduce((n, r) => n + (r.rssBytes ?? 0), 0);
  const clock = new Date(view.wallMs).toISOString().slice(11, 19);
  const counts = `${alive.length} alive of ${view.rows.length}, RSS ${humanBytes(rss)}`;
  const header = `shipote top ${clock} — ${counts} — q quits`;
  const body =
    view.rows.length === 0
      ? 'no commands'
      : table(
          PS_HEAD,
          view.rows.map((r: PsRow) => psCells(ctx, r, cpu.get(r.id) ?? null)),
        );
  const lines = [header, '', ...body.split('\n')].slice(0, Math.max(1, size.rows));
  return lines.map((l) => `${clip(l, size.columns)}${clearLineEnd}`).join('\n');
}

/** Cuts a line to `columns` visible characters (a cut line loses its colours). */
function clip(line: string, columns: number): string {
  const plain = stripVTControlCharacters(line);
  return plain.length <= columns ? line : plain.slice(0, columns);
}

export function addTopCommand(program: Command, io: Io): void {
  program
    .command('top')
    .description('live full-screen ps, refreshed in place; q quits')
    .option('--interval-ms <ms>', 'refresh period', String(topIntervalMsDefault))
    .action(async (o: { intervalMs: string }, cmd: Command) => {
      const ctx = makeCtx(cmd, io);
      const intervalMs = Math.max(100, intFlag(o.intervalMs, '--interval-ms') ?? 1000);
      if (!process.stdin.isTTY || !process.stdout.isTTY) {
        throw usage('top needs a terminal; use `shipote ps` (or `ps --json`) in scripts');
      }
      await runTop(ctx, intervalMs);
    });
}

function runTop(ctx: Ctx, intervalMs: number): Promise<void> {
  const stdin = process.stdin;
  const out = process.stdout;
  return new Promise((resolve, reject) => {
    let prev: PsView | null = null;
    let timer: NodeJS.Timeout | null = null;
    let done = false;
    const finish = (error?: unknown) => {
      if (done) return;
      done = true;
      if (timer) clearTimeout(timer);
      stdin.setRawMode(false);
      stdin.pause();
      out.write(leaveScreen);
      if (error) reject(error);
      else resolve();
    };
    const draw = async () => {
      try {
        const view = await ctx.api.get<PsView>('/v1/ps');
        if (done) return;
        const size = { columns: out.columns || 80, rows: out.rows || 24 };
        out.write(`${home}${renderTop(ctx, view, recentCpu(prev, view), size)}${clearBelow}`);
        prev = view;
        timer = setTimeout(() => void draw(), intervalMs);
      } catch (error) {
        finish(error);
      }
    };
    emitKeypressEvents(stdin);
    stdin.setRawMode(true);
    stdin.on('keypress', (_s: string, key: { name?: string; ctrl?: boolean }) => {
      if (key.name === 'q' || (key.ctrl && key.name === 'c')) finish();
    });
    stdin.resume();
    out.write(enterScreen);
    out.on('resize', () => void (prev && out.write(`${home}${clearBelow}`)));
    void draw();
  });
}
