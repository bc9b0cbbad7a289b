/**
 * The V8 flags of the daemon process. `daemonMain` sets them first thing, so every way of
 * starting the daemon gets the same ones: `shipote daemon` from a shell, the CLI's
 * auto-start, the shipped systemd units (docs/ARCHITECTURE.md, *Daemon memory at idle*).
 *
 * - `--max-bytecode-size-for-early-opt=0`: V8 optimises a small function on its first
 *   profiler tick (default: bytecode up to 81 bytes), so the few dozen requests of a start-up
 *   send Node's own hot helpers (Buffer, argument validators) through TurboFan, whose code
 *   (about 3.5 MiB of the node binary) then stays resident for the life of the process. With
 *   0, a function is optimised once it is hot by the same measure as a big one (three ticks):
 *   real hot paths still are, a burst of start-up calls is not (bench/idle.ts, bench/main.ts
 *   --suite workers and bench/apply.ts unchanged).
 * - `SHIPOTE_DAEMON_LITE=1` adds `--lite-mode` (no optimising compiler at all: about 4 MiB
 *   less, but what the daemon does in JavaScript, spec validation and the engine's steps,
 *   runs slower): opt-in.
 */

import { setFlagsFromString } from 'node:v8';

export const earlyOptFlag = '--max-bytecode-size-for-early-opt=0';
export const liteModeFlag = '--lite-mode';

export function daemonV8Flags(env: NodeJS.ProcessEnv): string[] {
  return env.SHIPOTE_DAEMON_LITE === '1' ? [earlyOptFlag, liteModeFlag] : [earlyOptFlag];
}

/** Sets the daemon's flags in this process (V8 reads these on every tiering decision). */
export function applyDaemonV8Flags(env: NodeJS.ProcessEnv): string[] {
  const flags = daemonV8Flags(env);
  for (const flag of flags) setFlagsFromString(flag);
  return flags;
}
