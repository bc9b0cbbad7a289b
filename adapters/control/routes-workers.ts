/**
 * /v1/workers (contract §9): create, list, get, drop; /v1/workers/:name/tasks: push (the
 * request body is the task, any bytes), list (queued or dead), retry a dead letter.
 */

import type { IncomingMessage } from 'node:http';
import type { Supervisor } from '../../core/engine/api.js';
import type { WorkerSupervisor } from '../../core/engine/worker-api.js';
import { formatIssues } from '../../core/manifest/issues.js';
import { validateWorkerSpec } from '../../core/manifest/worker.js';
import type { DeadLetter, TaskRow } from '../../core/ports.js';
import {
  bodyBytesMax,
  HttpError,
  invalid,
  optString,
  queryInt,
  readJsonBody,
  unwrap,
} from './http-util.js';
import type { Router } from './router.js';

const WORKER_METHODS = [
  'createWorker',
  'pushTask',
  'listWorkers',
  'getWorker',
  'listTasks',
  'retryTask',
  'dropWorker',
] as const;

/** The supervisor with its worker methods, or 503 when this daemon has no queue store. */
export function workersOf(sup: Supervisor): Supervisor & WorkerSupervisor {
  if (WORKER_METHODS.some((m) => typeof sup[m] !== 'function')) {
    throw new HttpError(503, { code: 'unavailable', message: 'this daemon has no workers' });
  }
  return sup as Supervisor & WorkerSupervisor;
}

export interface TaskJson {
  id: string;
  seq: number;
  attempt: number;
  state: string;
  bytes: number;
  /** The task bytes, base64. */
  payload: string;
  pushedAtWallMs: number;
  last?: DeadLetter['last'];
}

export function taskJson(t: TaskRow | DeadLetter): TaskJson {
  const out: TaskJson = {
    id: t.id,
    seq: t.seq,
    attempt: t.attempt,
    state: 'last' in t ? 'dead' : t.state,
    bytes: t.payload.byteLength,
    payload: Buffer.from(t.payload).toString('base64'),
    pushedAtWallMs: t.pushedAtWallMs,
  };
  if ('last' in t) out.last = t.last;
  return out;
}

async function readRawBody(req: IncomingMessage): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req) {
    total += (chunk as Buffer).length;
    if (total > bodyBytesMax) {
      throw invalid(`task: ${total}+ bytes exceed the limit of ${bodyBytesMax} bytes`, 'task');
    }
    chunks.push(chunk as Buffer);
  }
  return new Uint8Array(Buffer.concat(chunks));
}

export function addWorkerRoutes(router: Router): void {
  router
    .add('POST', '/v1/workers', async (ctx) => {
      const body = await readJsonBody(ctx.req);
      const ws = optString(body, 'workspace');
      if (!ws) throw invalid('workspace: expected a workspace id or label', 'workspace');
      const { workspace: _ws, ...rest } = body;
      const spec = validateWorkerSpec(rest);
      if (!spec.ok) {
        const lines = formatIssues(spec.issues);
        throw invalid(`invalid worker:\n${lines}`, spec.issues[0]?.path, spec.issues);
      }
      return unwrap(workersOf(ctx.deps.supervisor).createWorker(ws, spec.value));
    })
    .add('GET', '/v1/workers', ({ deps }) => workersOf(deps.supervisor).listWorkers())
    .add('GET', '/v1/workers/:name', ({ deps, params }) =>
      unwrap(workersOf(deps.supervisor).getWorker(params.name ?? '')),
    )
    .add('DELETE', '/v1/workers/:name', async ({ deps, params, query }) => {
      const force = query.get('force') === '1' || query.get('force') === 'true';
      unwrap(await workersOf(deps.supervisor).dropWorker(params.name ?? '', { force }));
      return { dropped: params.name };
    })
    .add('POST', '/v1/workers/:name/tasks', async (ctx) => {
      const workers = workersOf(ctx.deps.supervisor);
      const payload = await readRawBody(ctx.req);
      return unwrap(await workers.pushTask(ctx.params.name ?? '', payload));
    })
    .add('GET', '/v1/workers/:name/tasks', ({ deps, params, query }) => {
      const dead = query.get('dead') === '1' || query.get('dead') === 'true';
      const limit = queryInt(query, 'limit', 1000);
      const r = workersOf(deps.supervisor).listTasks(params.name ?? '', { dead, limit });
      return (unwrap(r) as (TaskRow | DeadLetter)[]).map(taskJson);
    })
    .add('POST', '/v1/workers/:name/tasks/:id/retry', ({ deps, params }) =>
      taskJson(unwrap(workersOf(deps.supervisor).retryTask(params.name ?? '', params.id ?? ''))),
    );
}
