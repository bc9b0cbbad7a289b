/**
 * sd_notify towards systemd: READY=1 after restore, WATCHDOG=1 every WATCHDOG_USEC/2
 * from the event loop, STOPPING=1 on shutdown. NOTIFY_SOCKET is a Unix datagram socket
 * (a path, or `@name` in the abstract namespace), which Node cannot send to: the native
 * addon sends each message as one datagram from the daemon itself, so the kernel gives
 * systemd the daemon's own pid (no helper process, no NotifyAccess=all needed).
 * Without NOTIFY_SOCKET: nothing.
 */

import { constants as osc } from 'node:os';
import { loadAddon } from '../linux/addon.js';

export type SendDatagram = (socketPath: string, message: string) => Promise<void>;

export interface Notifier {
  readonly active: boolean;
  send(message: string): Promise<void>;
  /** Starts WATCHDOG=1 pings when systemd asked for them; returns the stop function. */
  startWatchdog(): () => void;
}

export interface NotifierOptions {
  env: NodeJS.ProcessEnv;
  pid: number;
  /** A datagram sender; default: the addon's (`viaAddon`). */
  sendDatagram?: SendDatagram;
  warn?: (message: string) => void;
}

/** WATCHDOG_USEC/2 in ms, or null when no watchdog is asked of this pid. */
export function watchdogIntervalMs(env: NodeJS.ProcessEnv, pid: number): number | null {
  const usec = Number(env.WATCHDOG_USEC);
  if (!Number.isSafeInteger(usec) || usec <= 0) return null;
  if (env.WATCHDOG_PID && Number(env.WATCHDOG_PID) !== pid) return null;
  return Math.max(1, Math.floor(usec / 2000));
}

const errnoNames = new Map<number, string>(
  Object.entries(osc.errno).map(([name, n]) => [n as number, name]),
);

/** One datagram through the native addon; rejects with the errno's name. */
export function viaAddon(): SendDatagram {
  return async (socketPath, message) => {
    const errno = loadAddon().notifySend(socketPath, message);
    if (errno !== 0) {
      throw new Error(`send to ${socketPath}: ${errnoNames.get(errno) ?? `errno ${errno}`}`);
    }
  };
}

export function createNotifier(options: NotifierOptions): Notifier {
  const socketPath = options.env.NOTIFY_SOCKET;
  const warn = options.warn ?? ((m: string) => process.stderr.write(`shipote: ${m}\n`));
  const sendDatagram = options.sendDatagram ?? viaAddon();
  let warned = false;
  const send = async (message: string): Promise<void> => {
    if (!socketPath) return;
    try {
      await sendDatagram(socketPath, message);
    } catch (cause) {
      if (!warned) warn(`sd_notify ${message}: ${(cause as Error).message}`);
      warned = true;
    }
  };
  return {
    active: Boolean(socketPath),
    send,
    startWatchdog() {
      const everyMs = socketPath ? watchdogIntervalMs(options.env, options.pid) : null;
      if (everyMs === null) return () => {};
      const timer = setInterval(() => void send('WATCHDOG=1'), everyMs);
      return () => clearInterval(timer);
    },
  };
}
