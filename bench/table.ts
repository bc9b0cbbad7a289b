/** Bench result table (cli-table3). */

import Table from 'cli-table3';
import type { Row } from './suites.js';

function fmt(value: number, unit: string): string {
  if (unit === 'GB/s') return value.toFixed(2);
  if (unit === 'ms') return value.toFixed(3);
  return value >= 100 ? value.toFixed(0) : value.toFixed(1);
}

export function printTable(rows: Row[]): void {
  const table = new Table({
    head: ['metric', 'unit', 'shipote', 'baseline', 'ratio', 'spread', 'goal', 'met'],
    // Colour only on a terminal, and never under NO_COLOR (as the CLI does).
    ...(process.stdout.isTTY && !process.env.NO_COLOR ? {} : { style: { head: [], border: [] } }),
  });
  for (const r of rows) {
    table.push([
      r.metric,
      r.unit,
      fmt(r.value, r.unit),
      r.baseline === null ? '—' : fmt(r.baseline, r.unit),
      r.ratio === null ? '—' : `${r.ratio.toFixed(2)}×`,
      r.spread ?? '—',
      r.goal,
      r.met === null ? '—' : r.met ? 'yes' : 'NO',
    ]);
  }
  process.stdout.write(`${table.toString()}\n`);
}
