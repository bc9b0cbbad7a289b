/**
 * `shipote daemon`: resolve paths, build the real ports (Linux kernel and cgroups from
 * the native addon, file store, logfmt event log, system clock, ULIDs), create the
 * supervisor, restore, serve, and wait for SIGTERM/SIGINT.
 */

import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import type { Supervisor, TaskLogs } from '../../core/engine/api.js';
import { createSupervisor } from '../../core/engine/supervisor.js';
import type { Cgroups, LifecycleEvent } from '../../core/ports.js';
import { whenQuiet } from '../control/metrics.js';
import { coreSpecParsers } from '../control/specs.js';
import { loadAddon } from '../linux/addon.js';
import { bufferBytesDefault } from '../linux/budget.js';
import { createLinuxCgroups, createLinuxKernel, type LinuxKernel } from '../linux/index.js';
import { ledgerPathFor, sweepLeftovers } from '../linux/ledger.js';
import { logLimitsDefault } from '../linux/logs.js';
import { wireLogStore } from '../logstore/daemon.js';
import { createFileEventLog } from '../store/event-log.js';
import { createFileStore } from '../store/file-store.js';
import {
  eventLogPathFor,
  intFromEnv,
  logDirFor,
  resolveSocketPath,
  resolveStatePath,
} from '../store/paths.js';
import { ensureStateDir } from '../store/private-dir.js';
import { createSystemClock } from './clock.js';
import { startDaemon } from './compose.js';
import { createUlidIds } from './ids.js';
import { daemonQueue } from './lazy-queue.js';
import { createNotifier } from './notify.js';
import { selfStats } from './self-stats.js';

export interface DaemonOptions {
  socketPath?: string | undefined;
  statePath?: string | undefined;
  /** Run as a container's init (`--init`, `--apply FILE`): see init.ts. */
  init?: { graceMs: number; applyFile?: string | undefined } | undefined;
}

/**
 * A host where shipote must not touch cgroupfs: caps are still read (reading is harmless and
 * user namespaces / pidfd are real facts), but nothing is delegated and every write is refused.
 */
function disabledCgroups(reason: string, readOnly: Cgroups): Cgroups {
  const refused = (method: string) => ({
    ok: false as const,
    error: {
      _tag: 'PortError' as const,
      port: 'Cgroups' as const,
      method,
      reason: 'Unsupported' as const,
      message: reason,
    },
  });
  return {
    caps: () => {
      const caps = readOnly.caps();
      return { ...caps, delegated: false, writable: false, reasons: [reason, ...caps.reasons] };
    },
    create: () => refused('create'),
    stats: () => refused('stats'),
    kill: () => refused('kill'),
    remove: () => refused('remove'),
  };
}

/**
 * `SHIPOTE_CGROUPS=off` keeps the daemon out of cgroupfs entirely (the test suites on a
 * shared host set it: the host's tree is not ours). `SHIPOTE_CGROUP_ROOT` names the subtree
 * shipote owns when it is not the daemon's own cgroup (a delegated container or VM).
 */
export function chooseCgroups(env: NodeJS.ProcessEnv): Cgroups {
  const root = env.SHIPOTE_CGROUP_ROOT;
  const cgroups = createLinuxCgroups(root ? { root } : {});
  if (env.SHIPOTE_CGROUPS === 'off') {
    return disabledCgroups('cgroups disabled by SHIPOTE_CGROUPS=off', cgroups);
  }
  return cgroups;
}

/** Workers' stderr from the kernel's capture rings (dead letters keep a tail). */
function taskLogsOf(kernel: LinuxKernel): TaskLogs {
  return {
    stderrBytes: (key) => kernel.logBytes(key).stderr,
    stderrTail: (key, bytes) => Buffer.from(kernel.logs(key, 'stderr', bytes)).toString(),
    whenCaptured: (key, fire) => kernel.whenCaptured(key, fire),
  };
}

function closeAll(parts: ({ close(): void } | null)[]): void {
  for (const part of parts) part?.close();
}

function eventLogFor(env: NodeJS.ProcessEnv, statePath: string) {
  return createFileEventLog({
    path: eventLogPathFor(statePath),
    maxBytes: intFromEnv(env, 'SHIPOTE_EVENTS_MAX_BYTES', 1024 * 1024),
    keep: intFromEnv(env, 'SHIPOTE_EVENTS_KEEP', 3),
  });
}

/**
 * The Linux kernel adapter: sockets next to the control socket, logs next to the state.
 * What a previous incarnation left running (it was killed, or lost its children's exits)
 * is ended before anything is restored; from now on orphans of ours re-parent to us.
 */
async function startKernel(
  env: NodeJS.ProcessEnv,
  paths: { statePath: string; socketPath: string },
  log: (line: string) => void,
) {
  const ledgerPath = ledgerPathFor(paths.statePath);
  const swept = await sweepLeftovers({ ledgerPath, log });
  return createLinuxKernel({
    runtimeDir: join(dirname(paths.socketPath), 'sockets'),
    logDir: logDirFor(paths.statePath),
    logLimits: {
      maxBytes: intFromEnv(env, 'SHIPOTE_LOG_MAX_BYTES', logLimitsDefault.maxBytes),
      keep: intFromEnv(env, 'SHIPOTE_LOG_KEEP', logLimitsDefault.keep),
    },
    bufferBytes: intFromEnv(env, 'SHIPOTE_BUFFER_BYTES', bufferBytesDefault),
    ledger: { path: ledgerPath, tag: swept.tag },
    subreaper: true,
  });
}

export async function runDaemon(options: DaemonOptions): Promise<void> {
  const env = process.env;
  const uid = process.getuid?.() ?? 0;
  const socketPath = resolveSocketPath(env, uid, options.socketPath);
  const statePath = resolveStatePath(env, uid, options.statePath);
  const log = (line: string) => process.stderr.write(`shipote daemon: ${line}\n`);
  ensureStateDir(dirname(statePath)); // snapshot, temp files, event log, counters
  const clock = createSystemClock();
  // Group commit: a change's fsync runs off the event loop, its reply waits for it.
  const store = createFileStore({ path: statePath, groupCommit: true });
  const eventLog = eventLogFor(env, statePath);
  const kernel = await startKernel(env, { statePath, socketPath }, log);
  const cgroups = chooseCgroups(env);
  const ids = createUlidIds();
  const queue = daemonQueue(env, statePath, log);
  const ports = { clock, kernel, cgroups, store, eventLog, ids, ...(queue ? { queue } : {}) };
  const supervisor = createSupervisor(ports, {
    taskLogs: taskLogsOf(kernel),
    cores: availableParallelism(),
    // The quota tick, only for workspaces with an enforced limit (log/kill).
    sampleEveryMs: intFromEnv(env, 'SHIPOTE_SAMPLE_EVERY_MS', 1000),
    // Stats history for every other live workspace: on demand only by default (`stats`,
    // `quota`, /metrics, `top`), so sleeping commands never wake the daemon; a cadence
    // when set. See core/engine/stats.ts.
    statsEveryMs: intFromEnv(env, 'SHIPOTE_STATS_EVERY_MS', 0),
  });
  const appendEvent = (event: LifecycleEvent) => eventLog.append(event);
  const logs = wireLogStore({ env, statePath, socketPath, supervisor, kernel, clock, appendEvent });
  const daemon = await startDaemon({
    supervisor,
    notifier: createNotifier({ env, pid: process.pid }),
    control: {
      specs: coreSpecParsers,
      logs: logs.source,
      wallMs: clock.wallMs,
      flows: () => kernel.flows(),
      caps: () => cgroups.caps(),
      sample: (pids) => kernel.sample(pids),
      processStats: () => selfStats(clock.wallMs()),
      history: (limit) => eventLog.history(limit),
      statePath,
      countersPath: join(dirname(statePath), 'counters.json'),
      socketPath,
      nowMs: clock.nowMs,
      startedAtMs: clock.nowMs(),
      durable: () => store.durable(),
      deliverReady: () => kernel.deliverReady(),
    },
    socketPath,
    log,
    appendEvent,
    wallMs: clock.wallMs,
    closeKernel: () => closeAll([kernel, queue]),
    settleStore: () => settleStore(store, log),
  });
  logs.startTicks();
  whenQuiet(releaseFreedHeap);
  const onSignal = options.init
    ? await initMode(options.init, { supervisor, kernel }, log, (reason) => daemon.shutdown(reason))
    : (signal: NodeJS.Signals) => {
        void daemon.shutdown(signal).then(() => process.exit(0));
      };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  process.on('uncaughtException', (error) => fatal(error, { supervisor, store, log }));
}

/** A bug: keep what we know on disk; the children die with us (PDEATHSIG). */
function fatal(
  error: Error,
  { supervisor, store, log }: { supervisor: Supervisor; store: Settleable; log: Log },
): never {
  log(`fatal: ${error.stack ?? error.message}`);
  supervisor.flush();
  settleStore(store, log);
  process.exit(1);
}

/**
 * Restore, parsing and a burst of requests leave freed C heap (V8's compiler zones, the
 * HTTP parser's buffers) resident: given back each time the daemon goes quiet.
 */
function releaseFreedHeap(): void {
  loadAddon().mallocTrim();
}

type Settleable = { settleSync(): { message: string } | null };
type Log = (line: string) => void;

/** What was written is made durable before the process ends (group commit, exit paths). */
function settleStore(store: Settleable, log: Log) {
  const failure = store.settleSync();
  if (failure) log(`snapshot write failed at exit: ${failure.message}`);
}

/**
 * `--init`/`--apply`: reap orphans from now on, apply the file, and on SIGTERM stop every
 * workspace within the grace, then exit 0 if that stop was clean, 1 if not.
 */
async function initMode(
  init: NonNullable<DaemonOptions['init']>,
  { supervisor, kernel }: { supervisor: Supervisor; kernel: { reapOrphans(): number } },
  log: (line: string) => void,
  shutdown: (reason: string) => Promise<void>,
): Promise<(signal: NodeJS.Signals) => void> {
  const { applyFileAtStart } = await import('./apply-hook.js');
  const { stopEverything } = await import('./init.js');
  log(`init: pid ${process.pid}, reaping orphans, grace ${init.graceMs} ms on SIGTERM`);
  if (init.applyFile) {
    try {
      await applyFileAtStart(init.applyFile, { supervisor, log });
    } catch (error) {
      log(`init: ${(error as Error).message}`);
      await shutdown('apply failed');
      process.exit(1);
    }
  }
  return (signal) => {
    void (async () => {
      log(`init: ${signal}: stopping every workspace within ${init.graceMs} ms`);
      const outcome = await stopEverything(supervisor, init.graceMs);
      await shutdown(signal);
      const reapedTotal = kernel.reapOrphans();
      const how = outcome.clean ? 'clean' : `not clean: killed ${outcome.killed.join(', ')}`;
      const counts = `${outcome.reaped} processes stopped, ${reapedTotal} orphans reaped`;
      log(`init: stop ${how}; ${counts}`);
      process.exit(outcome.clean ? 0 : 1);
    })();
  };
}
