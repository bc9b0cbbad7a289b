/**
 * Where the daemon keeps its files. Pure functions of the environment so they can be
 * tested without touching the real one.
 */

import { dirname, join } from 'node:path';

export interface PathEnv {
  [name: string]: string | undefined;
}

/**
 * contract §5: `$XDG_STATE_HOME/shipote/state.json`, then `$HOME/.local/state/shipote/state.json`,
 * then `/tmp/shipote-$UID/state.json` (a per-uid 0700 directory, checked like the socket's:
 * never a file directly in /tmp, where another user could plant links). `SHIPOTE_STATE` (or
 * `--state`) overrides all three.
 */
export function resolveStatePath(env: PathEnv, uid: number, override?: string): string {
  if (override) return override;
  if (env.SHIPOTE_STATE) return env.SHIPOTE_STATE;
  if (env.XDG_STATE_HOME) return join(env.XDG_STATE_HOME, 'shipote', 'state.json');
  if (env.HOME) return join(env.HOME, '.local', 'state', 'shipote', 'state.json');
  return `/tmp/shipote-${uid}/state.json`;
}

/** The lifecycle event log lives next to the snapshot. */
export function eventLogPathFor(statePath: string): string {
  return join(dirname(statePath), 'events.log');
}

/** The log store (captured output, see adapters/logstore) lives next to the snapshot. */
export function logDirFor(statePath: string): string {
  return join(dirname(statePath), 'logs');
}
/** Where the system unit (examples/shipote.service) serves: `%t` is /run for root. */
export const systemSocketPath = '/run/shipote/shipote.sock';

/**
 * docs/CONTRACT.md: `--socket` > `$SHIPOTE_SOCKET` > (root: `/run/shipote/shipote.sock`) >
 * `$XDG_RUNTIME_DIR/shipote/shipote.sock` > `/tmp/shipote-$UID/shipote.sock`. The last
 * three are `%t/shipote/shipote.sock` of the system and user units, so the CLI finds the
 * daemon they run.
 */
export function resolveSocketPath(env: PathEnv, uid: number, override?: string): string {
  if (override) return override;
  if (env.SHIPOTE_SOCKET) return env.SHIPOTE_SOCKET;
  if (uid === 0) return systemSocketPath;
  if (env.XDG_RUNTIME_DIR) return join(env.XDG_RUNTIME_DIR, 'shipote', 'shipote.sock');
  return `/tmp/shipote-${uid}/shipote.sock`;
}

/** A positive integer from the environment, or the default when absent or malformed. */
export function intFromEnv(env: PathEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  return Number.isSafeInteger(value) && value > 0 ? value : fallback;
}
