/**
 * The log store in the daemon: the control server's source over the files, owners'
 * meta files from lifecycle events, the start sweep (before restore spawns anything) and
 * the gated retention tick. `SHIPOTE_KEEP_DAYS` (default 30, 0 = keep everything).
 */

import { dirname, join } from 'node:path';
import type { Supervisor } from '../../core/engine/api.js';
import type { LifecycleEvent } from '../../core/ports.js';
import { isFinished } from '../control/logs.js';
import type { LogSource } from '../control/types.js';
import type { LinuxKernel } from '../linux/kernel.js';
import { logDirFor } from '../store/paths.js';
import { metaText } from './meta.js';
import { keepDaysDefault } from './retention.js';
import { createDiskLogSource, recordOwners } from './source.js';
import { type SweepOptions, startRetention, sweepAtStart } from './sweep.js';

export interface LogStoreWiring {
  env: NodeJS.ProcessEnv;
  statePath: string;
  /** The control socket: flow sockets are in `sockets/` beside it. */
  socketPath: string;
  supervisor: Supervisor;
  kernel: LinuxKernel;
  clock: { wallMs(): number };
  appendEvent(event: LifecycleEvent): void;
}

/** Logs that must stay: commands not dead for good in running workspaces, live pipelines. */
export function liveLogKeys(sup: Supervisor): Set<string> {
  const live = new Set<string>();
  for (const ws of sup.listWorkspaces()) {
    if (ws.state === 'stopped') continue;
    const cmds = sup.listCommands(ws.id);
    if (cmds.ok) for (const c of cmds.value) if (!isFinished(c)) live.add(c.id);
  }
  for (const p of sup.listPipelines()) {
    if (p.state === 'running' || p.state === 'backoff') live.add(p.id);
  }
  return live;
}

export function keepDaysFrom(env: NodeJS.ProcessEnv): number {
  const raw = env.SHIPOTE_KEEP_DAYS;
  const n = raw === undefined || raw === '' ? keepDaysDefault : Number(raw);
  return Number.isSafeInteger(n) && n >= 0 ? n : keepDaysDefault;
}

/** Call before the supervisor restores (the start sweep removes every flow socket). */
export function wireLogStore(w: LogStoreWiring): { source: LogSource; startTicks(): () => void } {
  const logRoot = logDirFor(w.statePath);
  const sweep: SweepOptions = {
    statePath: w.statePath,
    logRoot,
    socketDir: join(dirname(w.socketPath), 'sockets'),
    keepDays: keepDaysFrom(w.env),
    liveKeys: () => liveLogKeys(w.supervisor),
    wallMs: () => w.clock.wallMs(),
    event: w.appendEvent,
  };
  sweepAtStart(sweep);
  recordOwners(w.supervisor, logRoot, (meta) => w.kernel.logMeta(meta.key, metaText(meta)));
  const source = createDiskLogSource({
    root: logRoot,
    follow: (key, listener) => w.kernel.followLogs(key, listener),
    bytes: (key) => {
      const b = w.kernel.logBytes(key);
      return b.stdout + b.stderr;
    },
  });
  return { source, startTicks: () => startRetention(sweep) };
}
