/** Colour only for a terminal, never with NO_COLOR (https://no-color.org). */

import pc from 'picocolors';

export type Paint = ReturnType<typeof pc.createColors>;

export function colorWanted(env: NodeJS.ProcessEnv, isTty: boolean): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') return true;
  return isTty && env.TERM !== 'dumb';
}

export function paintFor(enabled: boolean): Paint {
  return pc.createColors(enabled);
}

/** Green for healthy, yellow for waiting, red for needing an operator, dim for done. */
export function paintState(paint: Paint, state: string): string {
  if (state === 'running') return paint.green(state);
  if (state === 'starting' || state === 'backoff' || state === 'stopping') {
    return paint.yellow(state);
  }
  if (state === 'crash-loop' || state === 'gave-up') return paint.red(state);
  return paint.dim(state);
}
