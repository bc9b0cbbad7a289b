/**
 * Scripted behaviour of a simulated process, chosen by the workload through the exec
 * name and argv (the simulator's "binaries"). Anything else is not found (ENOENT).
 *
 * | exec              | argv                                   | behaviour                        |
 * |-------------------|----------------------------------------|----------------------------------|
 * | `sim:exit`        | afterMs, code                          | exits with `code` after a while  |
 * | `sim:signal`      | afterMs, signal                        | dies of `signal` after a while   |
 * | `sim:forever`     |                                        | runs until signalled             |
 * | `sim:ignore-term` |                                        | ignores SIGTERM/INT/HUP          |
 * | `sim:slow-term`   | termDelayMs                            | exits 0 that long after SIGTERM  |
 * | `sim:grow-mem`    | bytesPerMs                             | RSS grows linearly, forever      |
 * | `sim:fork`        | children                               | forks children, runs forever     |
 * | `sim:notify`      | readyAfterMs, watchdogEveryMs, hangMs  | READY=1, then WATCHDOG=1 pings   |
 * | `sim:task`        | (stdin: `afterMs code`)                | a worker's task: exits with code |
 */

export interface Script {
  /** null = never exits on its own. */
  exitAfterMs: number | null;
  exitCode: number | null;
  exitSignal: string | null;
  ignoreTerm: boolean;
  /** 0 = dies of SIGTERM at once; > 0 = handles it and exits 0 after this delay. */
  termDelayMs: number;
  rssBytes: number;
  growBytesPerMs: number;
  forkChildren: number;
  readyAfterMs: number | null;
  /** 0 = no pings. */
  watchdogEveryMs: number;
  /** Stop pinging this long after start (a hang); 0 = never. */
  hangAfterMs: number;
  /** CPU use in per-mille of one core. */
  cpuPermille: number;
}

const BASE: Script = {
  exitAfterMs: null,
  exitCode: null,
  exitSignal: null,
  ignoreTerm: false,
  termDelayMs: 0,
  rssBytes: 1 << 20,
  growBytesPerMs: 0,
  forkChildren: 0,
  readyAfterMs: null,
  watchdogEveryMs: 0,
  hangAfterMs: 0,
  cpuPermille: 100,
};

function num(argv: string[], i: number, fallback: number): number {
  const v = Number.parseInt(argv[i] ?? '', 10);
  return Number.isFinite(v) && v >= 0 ? v : fallback;
}

/** The script for an exec, or null when no such simulated binary exists. */
export function parseScript(exec: string, argv: string[], stdin?: Uint8Array): Script | null {
  switch (exec) {
    case 'sim:task': {
      // A worker's task: its stdin says `afterMs code` (what this task does).
      const words = new TextDecoder()
        .decode(stdin ?? new Uint8Array())
        .trim()
        .split(' ');
      return { ...BASE, exitAfterMs: num(words, 0, 0), exitCode: num(words, 1, 0) };
    }
    case 'sim:exit':
      return { ...BASE, exitAfterMs: num(argv, 0, 0), exitCode: num(argv, 1, 0) };
    case 'sim:signal':
      return { ...BASE, exitAfterMs: num(argv, 0, 0), exitSignal: argv[1] ?? 'SIGSEGV' };
    case 'sim:forever':
      return { ...BASE };
    case 'sim:ignore-term':
      return { ...BASE, ignoreTerm: true };
    case 'sim:slow-term':
      return { ...BASE, termDelayMs: Math.max(1, num(argv, 0, 100)) };
    case 'sim:grow-mem':
      return { ...BASE, growBytesPerMs: num(argv, 0, 1024), cpuPermille: 900 };
    case 'sim:fork':
      return { ...BASE, forkChildren: num(argv, 0, 1) };
    case 'sim:notify':
      return {
        ...BASE,
        readyAfterMs: num(argv, 0, 0),
        watchdogEveryMs: num(argv, 1, 0),
        hangAfterMs: num(argv, 2, 0),
      };
    default:
      return null;
  }
}

/** A forked child: idle, small, dies with its root. */
export const CHILD_SCRIPT: Script = { ...BASE, rssBytes: 256 << 10, cpuPermille: 10 };

/**
 * Host binaries as the simulator plays them, for tests that drive the real engine with the
 * specs a user would write (`/bin/sleep 10`, `/bin/echo hi`): matched by base name.
 * `sleep N` exits 0 after N s, `echo` and `true` exit 0 at once, `false` exits 1, `cat`
 * and `yes` run until signalled. Anything else is not found.
 */
export function hostScript(exec: string, argv: string[]): Script | null {
  const name = exec.slice(exec.lastIndexOf('/') + 1);
  if (exec === name) return null; // host binaries are absolute paths
  switch (name) {
    case 'sleep': {
      const seconds = Number.parseInt(argv[0] ?? '', 10);
      if (!Number.isSafeInteger(seconds) || seconds < 0) return { ...BASE };
      return { ...BASE, exitAfterMs: seconds * 1000, exitCode: 0 };
    }
    case 'echo':
    case 'true':
      return { ...BASE, exitAfterMs: 0, exitCode: 0 };
    case 'false':
      return { ...BASE, exitAfterMs: 0, exitCode: 1 };
    case 'cat':
    case 'yes':
      return { ...BASE };
    default:
      return null;
  }
}
