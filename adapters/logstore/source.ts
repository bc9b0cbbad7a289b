/**
 * The control server's LogSource over the disk store: readers are cursors on the files
 * (adapters/logstore/cursor.ts), follow nudges come from the capture side, and the meta
 * files name the owners of logs the supervisor no longer knows.
 */

import type { Supervisor } from '../../core/engine/api.js';
import type { KnownLog, LogKey, LogQuery, LogSource, LogWhich } from '../control/types.js';
import { LogCursor, type LogSourceSpec } from './cursor.js';
import { keyDir, type StreamName } from './files.js';
import { type LogMeta, listKeyDirs, writeMeta } from './meta.js';

export interface DiskLogSourceOptions {
  root: string;
  follow(key: string, listener: () => void): () => void;
  bytes(key: string): number;
}

function streamsOf(which: LogWhich): StreamName[] {
  return which === 'both' ? ['stdout', 'stderr'] : [which];
}

export function createDiskLogSource(opts: DiskLogSourceOptions): LogSource {
  return {
    open: (keys: LogKey[], which: LogWhich, query: LogQuery) => {
      const specsOf = (of: LogKey[]): LogSourceSpec[] =>
        of.flatMap(({ key, label }) =>
          streamsOf(which).map((stream) => ({
            dir: keyDir(opts.root, key),
            stream,
            ...(label === undefined ? {} : { label }),
          })),
        );
      const cursor = new LogCursor(specsOf(keys), query);
      return {
        next: () => cursor.next(),
        done: () => cursor.done(),
        add: (more: LogKey[]) => cursor.add(specsOf(more)),
      };
    },
    follow: (key, listener) => opts.follow(key, listener),
    bytes: (key) => opts.bytes(key),
    known: (): KnownLog[] =>
      listKeyDirs(opts.root).flatMap((e) => (e.meta ? [{ ...e.meta, key: e.key }] : [])),
  };
}

/**
 * Writes a key's meta.json when a command or pipeline starts (lifecycle `run` events).
 * A command's goes through `commandMeta` (the log store writes it with the first log file:
 * `run` comes after the spawn, so its captures are known); a pipeline's nodes' are written
 * at once (`pipeline-run` comes before the spawn, and restarts do not repeat it).
 */
export function recordOwners(
  sup: Supervisor,
  root: string,
  commandMeta: (meta: LogMeta) => void = (meta) => writeMeta(root, meta),
): () => void {
  const wsLabelOf = (ws: string): string => {
    const v = sup.getWorkspace(ws);
    return v.ok ? v.value.label : ws;
  };
  return sup.onEvent((event) => {
    const f = event.fields;
    const ws = String(f.ws ?? '');
    if (event.ev === 'run' && typeof f.cmd === 'string') {
      const startedWallMs = event.wallMs;
      const label = String(f.label ?? f.cmd);
      commandMeta({ key: f.cmd, ws, wsLabel: wsLabelOf(ws), label, startedWallMs });
    }
    if (event.ev === 'pipeline-run' && typeof f.pipeline === 'string') {
      const p = sup.getPipeline(f.pipeline);
      if (!p.ok) return;
      p.value.nodes.forEach((n, i) => {
        writeMeta(root, {
          key: `${p.value.id}/${i}`,
          ws,
          wsLabel: wsLabelOf(ws),
          label: `${p.value.label}.${n.label}`,
          startedWallMs: event.wallMs,
        });
      });
    }
  });
}
