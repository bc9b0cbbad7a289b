/**
 * The control API: HTTP/1.1 + JSON on a Unix socket. Access control: the socket is
 * chmod 0600 right after listen and its directory is created 0700, so only the daemon's
 * uid can connect. Node exposes no SO_PEERCRED, so peers are not checked one by one;
 * the file modes are the whole of the check.
 */

import { chmodSync, mkdirSync, unlinkSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { dirname } from 'node:path';
import { HttpError, sendError, sendJson } from './http-util.js';
import { Router } from './router.js';
import { addMiscRoutes } from './routes-misc.js';
import { addPipelineRoutes } from './routes-pipelines.js';
import { addWorkerRoutes } from './routes-workers.js';
import { addWorkspaceRoutes } from './routes-workspaces.js';
import type { ControlDeps } from './types.js';

export interface ControlServer {
  readonly socketPath: string;
  /** Stop accepting, end open streams (follows, SSE), remove the socket file. */
  close(): Promise<void>;
}

/** Node checks request timeouts on an interval; push it out so an idle daemon sleeps. */
const connectionsCheckingIntervalMs = 2 ** 31 - 1;

export function buildRouter(): Router {
  const router = new Router();
  addWorkspaceRoutes(router);
  addPipelineRoutes(router);
  addMiscRoutes(router);
  addWorkerRoutes(router);
  return router;
}

export function createControlHandler(deps: ControlDeps) {
  const router = buildRouter();
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    try {
      const url = new URL(req.url ?? '/', 'http://shipote');
      const match = router.match(req.method ?? 'GET', url.pathname);
      if (!match.found) throw routeError(req.method ?? 'GET', url.pathname, match.allowed);
      const ctx = { req, res, params: match.params, query: url.searchParams, deps };
      const value = await match.handler(ctx);
      if (value !== undefined && !res.headersSent) sendJson(res, 200, value);
    } catch (error) {
      if (!res.headersSent) sendError(res, error);
      else res.destroy(error as Error);
    }
  };
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

/** Resolves true when something already answers on the socket. */
export function socketAnswers(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect(socketPath);
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

export async function serveControl(deps: ControlDeps, socketPath: string): Promise<ControlServer> {
  mkdirSync(dirname(socketPath), { recursive: true, mode: 0o700 });
  if (await socketAnswers(socketPath)) {
    throw new Error(`another daemon is already serving ${socketPath}`);
  }
  try {
    unlinkSync(socketPath); // A stale socket from a daemon that died.
  } catch {
    // Absent: nothing to clean.
  }
  const handler = createControlHandler(deps);
  const server = createServer({ connectionsCheckingInterval: connectionsCheckingIntervalMs });
  server.on('request', (req, res) => void handler(req, res));
  await listen(server, socketPath);
  chmodSync(socketPath, 0o600);
  return { socketPath, close: () => closeServer(server, socketPath) };
}

function listen(server: Server, socketPath: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
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
