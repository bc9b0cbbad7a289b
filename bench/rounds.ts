/**
 * Paired rounds: the machine is shared and its load drifts, so the adapter and its baseline
 * run alternately (ABBA order: neither side always goes first) and each round yields one
 * paired ratio. The table shows the medians and the spread of the paired ratios.
 */

import type { Row } from './suites.js';

export interface Paired {
  /** Median of each side (rates: higher is better). */
  value: number;
  baseline: number;
  /** Median of the per-round ratios value/baseline, and their min and max. */
  ratio: number;
  ratioMin: number;
  ratioMax: number;
  rounds: number;
}

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

/** Runs `rounds` rounds of both sides (each returns a rate) and pairs them. */
export async function paired(
  rounds: number,
  ours: () => Promise<number>,
  theirs: () => Promise<number>,
): Promise<Paired> {
  const a: number[] = [];
  const b: number[] = [];
  for (let round = 0; round < rounds; round++) {
    if (round % 2 === 0) {
      a.push(await ours());
      b.push(await theirs());
    } else {
      b.push(await theirs());
      a.push(await ours());
    }
  }
  const ratios = a.map((x, i) => x / b[i]!);
  return {
    value: median(a),
    baseline: median(b),
    ratio: median(ratios),
    ratioMin: Math.min(...ratios),
    ratioMax: Math.max(...ratios),
    rounds,
  };
}

/** A row for a rate compared with its baseline; `goalRatio` is the ratio to reach. */
export function pairedRow(
  metric: string,
  unit: string,
  p: Paired,
  goal: { text: string; ratio: number } | null,
): Row {
  return {
    metric,
    unit,
    value: p.value,
    baseline: p.baseline,
    ratio: p.ratio,
    spread: `${p.ratioMin.toFixed(2)}–${p.ratioMax.toFixed(2)}× (${p.rounds})`,
    goal: goal?.text ?? '(info)',
    met: goal === null ? null : p.ratio >= goal.ratio,
  };
}

export const describePaired = (p: Paired, digits = 0): string =>
  `${p.value.toFixed(digits)} vs ${p.baseline.toFixed(digits)}: ` +
  `${p.ratio.toFixed(2)}× (rounds ${p.ratioMin.toFixed(2)}–${p.ratioMax.toFixed(2)}×)`;
