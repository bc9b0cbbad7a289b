/**
 * The composition root, with its parts handed in: restore, serve, notify, and the
 * shutdown path (flush the snapshot, stop serving, end the children, STOPPING=1).
 * `main.ts` hands in the real Linux kernel, cgroups and supervisor.
 */

import type { RestoreReport, Supervisor } from '../../core/engine/api.js';
import type { LifecycleEvent } from '../../core/ports.js';
import { type ControlServer, serveControl } from '../control/server.js';
import type { ControlDeps } from '../control/types.js';
import type { Notifier } from './notify.js';

export interface DaemonParts {
  supervisor: Supervisor;
  notifier: Notifier;
  /** Control deps except supervisor and restore report (filled in here). */
  control: Omit<ControlDeps, 'supervisor' | 'restoreReport'>;
  socketPath: string;
  log: (line: string) => void;
  appendEvent: (event: LifecycleEvent) => void;
  wallMs: () => number;
  /** Release what the kernel adapter holds (pumps, sockets). */
  closeKernel?: () => void;
  /** Make every snapshot write durable now (the store's group commit), before exiting. */
  settleStore?: () => void;
}

export interface RunningDaemon {
  report: RestoreReport;
  server: ControlServer;
  /** Idempotent. Resolves once everything is released. */
  shutdown(reason: string): Promise<void>;
}

/** How long children get between SIGTERM and SIGKILL when the daemon stops. */
export const shutdownGraceMs = 1000;

export async function startDaemon(parts: DaemonParts): Promise<RunningDaemon> {
  const { supervisor, notifier, log } = parts;
  const report = supervisor.start();
  log(`restore: ${report.outcome}: ${report.message}`);
  const server = await serveControl(
    { ...parts.control, supervisor, restoreReport: () => report },
    parts.socketPath,
  );
  log(`serving ${parts.socketPath} (pid ${process.pid})`);
  parts.appendEvent({
    wallMs: parts.wallMs(),
    ev: 'daemon-start',
    fields: { pid: process.pid, restore: report.outcome, workspaces: report.workspaces },
  });
  await notifier.send(`READY=1\nSTATUS=${report.message}`);
  const stopWatchdog = notifier.startWatchdog();
  let shuttingDown: Promise<void> | null = null;
  const shutdown = (reason: string): Promise<void> => {
    shuttingDown ??= (async () => {
      log(`shutting down (${reason})`);
      const stopping = notifier.send('STOPPING=1');
      stopWatchdog();
      supervisor.flush();
      await server.close();
      // The engine ends the children: TERM, KILL after the grace (core/engine/shutdown.ts).
      await supervisor.shutdown(shutdownGraceMs);
      supervisor.close();
      parts.settleStore?.();
      parts.appendEvent({ wallMs: parts.wallMs(), ev: 'daemon-stop', fields: { reason } });
      parts.closeKernel?.();
      await stopping;
    })();
    return shuttingDown;
  };
  return { report, server, shutdown };
}
