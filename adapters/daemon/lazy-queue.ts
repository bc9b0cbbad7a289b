/**
 * The daemon's queue store, opened when it is first needed: at start when the database
 * file exists (its workers are restored), else on the first worker call that writes or
 * reads a worker. Until then `workers()` answers an empty list from the file's absence, so
 * a daemon that never has a worker never loads SQLite (about 7 MiB resident: bench/idle.ts).
 */

import { existsSync } from 'node:fs';
import type { PortError, PortResult, QueueStore } from '../../core/ports.js';
import { openDaemonQueue, queuePathFor } from '../queue/index.js';

export type DaemonQueue = QueueStore & { close(): void };

/**
 * `open` is the real opener (tests hand in their own); null from it means it failed (and
 * said why): every later call answers `Unavailable`-like errors naming the path.
 */
export function lazyQueue(path: string, open: () => DaemonQueue | null): DaemonQueue {
  let store: DaemonQueue | null = null;
  let failed = false;
  const get = (method: string): PortResult<DaemonQueue> => {
    if (store === null && !failed) {
      store = open();
      failed = store === null;
    }
    if (store !== null) return { ok: true, value: store };
    return { ok: false, error: unavailable(method, path) };
  };
  const via =
    <A extends unknown[], T>(method: string, call: (q: DaemonQueue, ...args: A) => PortResult<T>) =>
    (...args: A): PortResult<T> => {
      const q = get(method);
      return q.ok ? call(q.value, ...args) : q;
    };
  return {
    workers: () => {
      if (store === null && !failed && !existsSync(path)) return { ok: true, value: [] };
      return via('workers', (q) => q.workers())();
    },
    createWorker: via('createWorker', (q, def) => q.createWorker(def)),
    dropWorker: via('dropWorker', (q, name) => q.dropWorker(name)),
    push: via('push', (q, items) => q.push(items)),
    // A store with group commit only delivers and acknowledges pushes once synced.
    sync: (done) => {
      const q = get('sync');
      if (!q.ok) done(q);
      else if (q.value.sync) q.value.sync(done);
      else done({ ok: true, value: true });
    },
    head: via('head', (q, worker) => q.head(worker)),
    startAttempt: via('startAttempt', (q, worker, id) => q.startAttempt(worker, id)),
    complete: via('complete', (q, worker, id, result) => q.complete(worker, id, result)),
    fail: via('fail', (q, worker, id, result) => q.fail(worker, id, result)),
    bury: via('bury', (q, worker, id, result) => q.bury(worker, id, result)),
    retry: via('retry', (q, worker, id) => q.retry(worker, id)),
    tasks: via('tasks', (q, worker, limit) => q.tasks(worker, limit)),
    next: via('next', (q, worker, afterSeq) => q.next(worker, afterSeq)),
    dead: via('dead', (q, worker, limit) => q.dead(worker, limit)),
    depth: via('depth', (q, worker) => q.depth(worker)),
    counters: via('counters', (q, worker) => q.counters(worker)),
    close: () => store?.close(),
  };
}

function unavailable(method: string, path: string): PortError {
  const message = `queue store ${path} could not be opened (see the daemon's log)`;
  return { _tag: 'PortError', port: 'QueueStore', method, reason: 'Unknown', message, path };
}

/** The daemon's queue: opened now when its file exists (or it cannot be told), else lazily. */
export function daemonQueue(
  env: NodeJS.ProcessEnv,
  statePath: string,
  log: (line: string) => void,
): DaemonQueue | null {
  const path = queuePathFor(env, statePath);
  if (existsSync(path)) return openDaemonQueue(env, statePath, log);
  return lazyQueue(path, () => openDaemonQueue(env, statePath, log));
}
