/**
 * sd_notify towards systemd: READY=1 after restore, WATCHDOG=1 every WATCHDOG_USEC/2
 * from the event loop, STOPPING=1 on shutdown. NOTIFY_SOCKET is a Unix datagram socket,
 * which Node cannot send to; the native addon exposes no datagram send, so the message
 * goes through `systemd-notify --pid=<daemon pid>` (root may speak for the daemon's pid;
 * an unprivileged user unit needs NotifyAccess=all). Without NOTIFY_SOCKET: nothing.
 */

import { spawn } from 'node:child_process';

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
  /** A datagram sender (the addon's, when it has one); default: systemd-notify. */
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

export function viaSystemdNotify(pid: number): SendDatagram {
  return (socketPath, message) =>
    new Promise((resolve, reject) => {
      const child = spawn('systemd-notify', [`--pid=${pid}`, ...message.split('\n')], {
        stdio: 'ignore',
        env: { ...process.env, NOTIFY_SOCKET: socketPath },
      });
      child.once('error', reject);
      child.once('exit', (code) =>
        code === 0 ? resolve() : reject(new Error(`systemd-notify exited with ${code}`)),
      );
    });
}

export function createNotifier(options: NotifierOptions): Notifier {
  const socketPath = options.env.NOTIFY_SOCKET;
  const warn = options.warn ?? ((m: string) => process.stderr.write(`shipote: ${m}\n`));
  const sendDatagram = options.sendDatagram ?? viaSystemdNotify(options.pid);
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
