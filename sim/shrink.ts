/**
 * Shrinking: re-run the same seed with fewer operations (delta debugging over the
 * workload's indices) and keep the smallest subset that still fails with the same
 * failure class. The PRNG streams of the world are per component, so a subset replays
 * the same faults wherever the same calls happen.
 */

import { type RunOptions, type RunResult, runSeed } from './runner.js';

export interface ShrinkResult {
  keep: number[];
  result: RunResult;
  attempts: number;
}

export interface ShrinkLimits {
  attemptsMax: number;
  wallMsMax: number;
}

export async function shrink(
  base: Omit<RunOptions, 'keep' | 'trace' | 'echo'>,
  failed: RunResult,
  limits: ShrinkLimits = { attemptsMax: 400, wallMsMax: 20_000 },
): Promise<ShrinkResult> {
  const violation = failed.violation;
  if (violation === null) throw new Error('shrink: the run did not fail');
  const startedMs = Date.now();
  let keep =
    violation.phase === 'safety'
      ? failed.ran.filter((i) => i <= violation.opIndex)
      : [...failed.ran];
  let best = failed;
  let attempts = 0;
  const fails = async (candidate: number[]): Promise<RunResult | null> => {
    attempts += 1;
    const result = await runSeed({ ...base, keep: new Set(candidate) });
    return result.violation?.failure === violation.failure ? result : null;
  };
  const prefix = await fails(keep);
  if (prefix === null) keep = [...failed.ran];
  else best = prefix;
  for (let chunk = Math.max(1, keep.length >> 1); chunk >= 1; chunk >>= 1) {
    for (let start = 0; start < keep.length; ) {
      if (attempts >= limits.attemptsMax || Date.now() - startedMs > limits.wallMsMax) {
        return { keep, result: best, attempts };
      }
      const candidate = [...keep.slice(0, start), ...keep.slice(start + chunk)];
      const result = candidate.length === 0 ? null : await fails(candidate);
      if (result === null) {
        start += chunk;
      } else {
        keep = candidate;
        best = result;
      }
    }
    if (chunk === 1) break;
  }
  return { keep, result: best, attempts };
}
