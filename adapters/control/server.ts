/**
 * The control API: HTTP/1.1 + JSON on a Unix socket. Access control: the socket is bound
 * under umask 077 (0600 from the start) in a directory that must be the daemon's own and
 * 0700 (adapters/store/private-dir.ts), so only the daemon's uid can connect. Node exposes
 * no SO_PEERCRED, so peers are not checked one by one; the file modes are the whole check.
 */

import { chmodSync, unlinkSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { dirname } from 'node:path';
import { ensurePrivateDir } from '../store/private-dir.js';
import { httpDate } from '../store/utc.js';
import { socketAnswers } from './client.js';
import {
  type ConnectionGuard,
  type ConnectionLimits,
  connectionLimitsDefault,
  guardConnections,
} from './connections.js';
import { drainBody, HttpError, invalid, sendError, sendJson } from './http-util.js';
import { noteLoopActivity } from './metrics.js';
import { Router } from './router.js';
import { addApplyRoutes } from './routes-apply.js';
import { addControlRoutes } from './routes-control.js';
import { addMiscRoutes, countersOf } from './routes-misc.js';
import { addOpenApiRoutes } from './routes-openapi.js';
import { addPipelineRoutes } from './routes-pipelines.js';
import { addPsRoutes } from './routes-ps.js';
import { addWorkerRoutes } from './routes-workers.js';
import { addWorkspaceRoutes } from './routes-workspaces.js';
import type { ControlDeps } from './types.js';

// Where it always was, for the daemon's tests and benches; the CLI imports it from client.ts.
export { socketAnswers };

export interface ControlServer {
  readonly socketPath: string;
  /** Open connections and evictions (the cap of docs/CONTRACT.md §6). */
  readonly connections: ConnectionGuard;
  /** Stop accepting, end open streams (follows, SSE), remove the socket file. */
  close(): Promise<void>;
}

/**
 * Node's own header and request timeout checks run on an interval from `listen` to `close`,
 * connections or not (an idle daemon woke every second): they are off here (timeouts 0, the
 * interval at its longest), and connections.ts checks the same limits while a connection is
 * open.
 */
const nodeCheckingIntervalMs = 2 ** 31 - 1;
const listenBacklog = 4096;

export function buildRouter(): Router {
  const router = new Router();
  addWorkspaceRoutes(router);
  addControlRoutes(router);
  addApplyRoutes(router);
  addPipelineRoutes(router);
  addMiscRoutes(router);
  addPsRoutes(router);
  addOpenApiRoutes(router);
  addWorkerRoutes(router);
  return router;
}

/** Methods whose routes never read a body: it is read away before the route runs. */
const bodylessMethods = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS']);

export function createControlHandler(deps: ControlDeps) {
  const router = buildRouter();
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    let waited = false;
    try {
      if (bodylessMethods.has(req.method ?? 'GET')) await drainBody(req);
      const url = new URL(req.url ?? '/', 'http://shipote');
      const match = matchRoute(router, req.method ?? 'GET', url.pathname);
      if (!match.found) throw routeError(req.method ?? 'GET', url.pathname, match.allowed);
      const ctx = { req, res, params: match.params, query: url.searchParams, deps };
      const value = await match.handler(ctx);
      if (value !== undefined && !res.headersSent) {
        await drainBody(req);
        waited = true;
        await durableBeforeReply(deps, req.method);
        deps.deliverReady?.();
        sendJson(res, 200, value);
      }
    } catch (error) {
      if (res.headersSent) {
        res.destroy(error as Error);
        return;
      }
      await drainBody(req);
      // What a failed request did change is durable before it is reported, too.
      const notDurable = waited
        ? null
        : await durableBeforeReply(deps, req.method).then(
            () => null,
            (e: unknown) => e,
          );
      sendError(res, notDurable ?? error);
    }
  };
}

/**
 * An answer to a change is an acknowledgement: what the change wrote must be on disk
 * first (contract §5). Throws 503 naming the failed write; reads never wait.
 */
async function durableBeforeReply(deps: ControlDeps, method: string | undefined): Promise<void> {
  if (deps.durable === undefined || readMethods.has(method ?? 'GET')) return;
  const failure = await deps.durable();
  if (failure === null) return;
  const message = `snapshot write failed: ${failure.message} (the change is not durable)`;
  throw new HttpError(503, { code: 'unavailable', message });
}

const readMethods = new Set(['GET', 'HEAD', 'OPTIONS']);

/** A malformed `%`-escape in a path parameter is the client's error: 400, not 500. */
function matchRoute(router: Router, method: string, path: string) {
  try {
    return router.match(method, path);
  } catch (error) {
    if (!(error instanceof URIError)) throw error;
    throw invalid(`path ${JSON.stringify(path.slice(0, 200))}: malformed %-escape`, 'path');
  }
}

function routeError(method: string, path: string, allowed: string[]): HttpError {
  if (allowed.length > 0) {
    return new HttpError(405, {
      code: 'invalid',
      message: `${method} ${path}: method not allowed (use ${allowed.join(', ')})`,
    });
  }
  return new HttpError(404, { code: 'not_found', message: `no route ${method} ${path}` });
}

export async function serveControl(
  deps: ControlDeps,
  socketPath: string,
  limitsOver: Partial<ConnectionLimits> = {},
): Promise<ControlServer> {
  const limits = { ...connectionLimitsDefault, ...limitsOver };
  ensurePrivateDir(dirname(socketPath), 'socket directory', 'SHIPOTE_SOCKET (or --socket)');
  if (await socketAnswers(socketPath)) {
    throw new Error(`another daemon is already serving ${socketPath}`);
  }
  try {
    unlinkSync(socketPath); // A stale socket from a daemon that died.
  } catch {
    // Absent: nothing to clean.
  }
  const handler = createControlHandler(deps);
  const server = createServer({
    connectionsCheckingInterval: nodeCheckingIntervalMs,
    headersTimeout: 0,
    requestTimeout: 0,
    // Idle keep-alive connections are closed by connections.ts (its idle timer), not by
    // Node's socket timeout (which leaves a wakeup behind; see there).
    keepAliveTimeout: 0,
  });
  const connections = guardConnections(server, limits);
  // Counting starts with the server, not with the first scrape.
  const counters = countersOf(deps);
  server.on('request', (req, res) => {
    noteLoopActivity();
    deps.deliverReady?.();
    // Node's own Date header reads the local time (ICU's time-zone data, resident from then
    // on: adapters/store/utc.ts); the same header from the UTC fields.
    res.sendDate = false;
    res.setHeader('Date', httpDate((deps.wallMs ?? Date.now)()));
    void handler(req, res);
  });
  // Bound under umask 077: the socket is 0600 from its first instant, not after a chmod.
  const umaskBefore = process.umask(0o077);
  try {
    await listen(server, socketPath);
  } finally {
    process.umask(umaskBefore);
  }
  chmodSync(socketPath, 0o600);
  const close = async () => {
    counters.close();
    await closeServer(server, socketPath);
  };
  return { socketPath, connections, close };
}

function listen(server: Server, socketPath: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    // A deep accept queue absorbs connection bursts (the kernel caps it at somaxconn).
    server.listen({ path: socketPath, backlog: listenBacklog }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function closeServer(server: Server, socketPath: string): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => {
      try {
        unlinkSync(socketPath);
      } catch {
        // Already removed by close or by another process.
      }
      resolve();
    });
    server.closeAllConnections();
  });
}
