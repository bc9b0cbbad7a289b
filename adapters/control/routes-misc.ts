/** health, caps, doctor, flows, events (server-sent events) and /metrics. */

import type { LifecycleEvent } from '../../core/ports.js';
import { markStreaming } from './connections.js';
import { createRestartCounters, type RestartCounters } from './counters.js';
import { buildDoctor } from './doctor.js';
import { queryInt } from './http-util.js';
import { renderMetrics } from './metrics.js';
import type { Ctx, Router } from './router.js';
import type { ControlDeps } from './types.js';

export const historyDefault = 100;

export function addMiscRoutes(router: Router): void {
  router
    .add('GET', '/v1/health', ({ deps }) => deps.supervisor.health())
    .add('GET', '/v1/caps', ({ deps }) => deps.caps())
    .add('GET', '/v1/doctor', ({ deps }) => buildDoctor(deps))
    .add('GET', '/v1/flows', ({ deps }) => deps.flows())
    .add('GET', '/v1/events', events)
    .add('GET', '/metrics', ({ deps, res }) => {
      const body = renderMetrics(deps, countersOf(deps));
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
      res.end(body);
      return undefined;
    });
}

/** The most past events a resuming client (Last-Event-ID) is sent. */
export const sseReplayMax = 1000;

/**
 * An event's SSE id: `<wallMs>-<k>`, k counting the earlier events of the same ms. Derived
 * from the persistent event log, so ids stay the same across daemon restarts.
 */
export interface EventIds {
  next(event: LifecycleEvent): string;
}

export function eventIds(): EventIds {
  let lastWallMs = -1;
  let k = 0;
  return {
    next(event) {
      k = event.wallMs === lastWallMs ? k + 1 : 0;
      lastWallMs = event.wallMs;
      return `${event.wallMs}-${k}`;
    },
  };
}

export function sseFrame(event: LifecycleEvent, id?: string): string {
  const idLine = id === undefined ? '' : `id: ${id}\n`;
  return `${idLine}event: ${event.ev}\ndata: ${JSON.stringify(event)}\n\n`;
}

/** `[wallMs, k]` of an id, or null when it is not one of ours. */
function parseEventId(id: string): [number, number] | null {
  const m = /^(\d+)-(\d+)$/.exec(id.trim());
  return m ? [Number(m[1]), Number(m[2])] : null;
}

function isAfter(id: string, than: [number, number]): boolean {
  const me = parseEventId(id);
  return me !== null && (me[0] > than[0] || (me[0] === than[0] && me[1] > than[1]));
}

/** One restart-counter tally per set of deps (one per server), made on first use. */
const counterTallies = new WeakMap<ControlDeps, RestartCounters>();

export function countersOf(deps: ControlDeps): RestartCounters {
  let counters = counterTallies.get(deps);
  if (counters === undefined) {
    counters = createRestartCounters(deps.supervisor, deps.countersPath);
    counterTallies.set(deps, counters);
  }
  return counters;
}

/**
 * `text/event-stream`: first the last `history` events from the log file (default 100,
 * 0 = none), then with `follow=1` each new event as it happens. Every event has an `id:`;
 * a `Last-Event-ID` header replaces `history` with the events after that id (at most
 * sseReplayMax). No keep-alive comments: the daemon does not wake up when nothing happens.
 */
function events(ctx: Ctx): undefined {
  const { deps, req, res, query } = ctx;
  const limit = queryInt(query, 'history', historyDefault) ?? historyDefault;
  const follow = query.get('follow') === '1' || query.get('follow') === 'true';
  const header = req.headers['last-event-id'];
  const resumeFrom = typeof header === 'string' ? parseEventId(header) : null;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
  });
  const ids = eventIds();
  const all = deps.history().map((event) => ({ event, id: ids.next(event) }));
  const past = resumeFrom
    ? all.filter((e) => isAfter(e.id, resumeFrom)).slice(-sseReplayMax)
    : limit > 0
      ? all.slice(-limit)
      : [];
  for (const { event, id } of past) res.write(sseFrame(event, id));
  if (!follow) {
    res.end();
    return undefined;
  }
  markStreaming(res);
  res.flushHeaders();
  const off = deps.supervisor.onEvent((event) => {
    if (res.writableLength <= sseBacklogBytesMax) {
      res.write(sseFrame(event, ids.next(event)));
      return;
    }
    // A reader this far behind is dropped, with a word why, rather than grow the daemon.
    off();
    res.end(sseFrame(droppedEvent(event.wallMs, res.writableLength)));
  });
  res.on('close', off);
  return undefined;
}

/** An SSE follower with this much unread is dropped (events are small: it has stalled). */
export const sseBacklogBytesMax = 1024 * 1024;

function droppedEvent(wallMs: number, backlogBytes: number): LifecycleEvent {
  const message =
    `events: dropped: the reader is ${backlogBytes} bytes behind ` + `(max ${sseBacklogBytesMax})`;
  return { wallMs, ev: 'follow-dropped', fields: { backlog_bytes: backlogBytes, message } };
}
