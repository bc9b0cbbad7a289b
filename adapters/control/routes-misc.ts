/** health, caps, doctor, flows, events (server-sent events) and /metrics. */

import type { LifecycleEvent } from '../../core/ports.js';
import { markStreaming } from './connections.js';
import { buildDoctor } from './doctor.js';
import { queryInt } from './http-util.js';
import { renderMetrics } from './metrics.js';
import type { Ctx, Router } from './router.js';

export const historyDefault = 100;

export function addMiscRoutes(router: Router): void {
  router
    .add('GET', '/v1/health', ({ deps }) => deps.supervisor.health())
    .add('GET', '/v1/caps', ({ deps }) => deps.caps())
    .add('GET', '/v1/doctor', ({ deps }) => buildDoctor(deps))
    .add('GET', '/v1/flows', ({ deps }) => deps.flows())
    .add('GET', '/v1/events', events)
    .add('GET', '/metrics', ({ deps, res }) => {
      const body = renderMetrics(deps);
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
      res.end(body);
      return undefined;
    });
}

export function sseFrame(event: LifecycleEvent): string {
  return `event: ${event.ev}\ndata: ${JSON.stringify(event)}\n\n`;
}

/**
 * `text/event-stream`: first the last `history` events from the log file (default 100,
 * 0 = none), then with `follow=1` each new event as it happens. No keep-alive comments:
 * the daemon does not wake up when nothing happens.
 */
function events(ctx: Ctx): undefined {
  const { deps, res, query } = ctx;
  const limit = queryInt(query, 'history', historyDefault) ?? historyDefault;
  const follow = query.get('follow') === '1' || query.get('follow') === 'true';
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
  });
  const past = limit > 0 ? deps.history(limit) : [];
  for (const event of past) res.write(sseFrame(event));
  if (!follow) {
    res.end();
    return undefined;
  }
  markStreaming(res);
  res.flushHeaders();
  const off = deps.supervisor.onEvent((event) => res.write(sseFrame(event)));
  res.on('close', off);
  return undefined;
}
