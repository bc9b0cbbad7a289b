/**
 * Client side of the control API, used by the CLI (and tests): JSON requests and raw
 * streams over the Unix socket.
 */

import { lstatSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';

export interface Reply<T = unknown> {
  status: number;
  body: T;
}

/** The daemon did not answer: no socket, nobody listening, or a refused connection. */
export class UnreachableError extends Error {
  constructor(
    readonly socketPath: string,
    readonly code: string,
  ) {
    super(`daemon not reachable at ${socketPath} (${code})`);
  }
}

/** The socket is someone else's, or not a socket: nothing is sent to it. */
export class UntrustedSocketError extends Error {
  override readonly name = 'UntrustedSocketError';
}

/**
 * Before anything is sent (a spec, `--env` secrets): the path must be a socket itself (not
 * a link to one) owned by our uid, so another user cannot swap in a listener of their own.
 * A missing path is left to the connect, which reports it as unreachable.
 */
export function checkSocketOwner(socketPath: string, uid = process.getuid?.() ?? 0): void {
  let st: ReturnType<typeof lstatSync>;
  try {
    st = lstatSync(socketPath);
  } catch {
    return;
  }
  const fix = 'remove it, or set SHIPOTE_SOCKET (or --socket) to a socket of your own daemon';
  if (!st.isSocket()) {
    const kind = st.isSymbolicLink() ? 'a symbolic link' : 'a regular file or directory';
    throw new UntrustedSocketError(`${socketPath} is not a socket (it is ${kind}); ${fix}`);
  }
  if (st.uid !== uid) {
    throw new UntrustedSocketError(
      `${socketPath} is owned by uid ${st.uid}, not by you (uid ${uid}); refusing to send ` +
        `anything to it; ${fix}`,
    );
  }
}

/** A full accept queue (connect EAGAIN on a Unix socket) is retried this often, this far apart. */
const busyRetries = 50;
const busyRetryMs = 20;

async function open(
  socketPath: string,
  method: string,
  path: string,
  body?: unknown,
  extraHeaders: Record<string, string> = {},
): Promise<IncomingMessage> {
  checkSocketOwner(socketPath);
  for (let attempt = 0; ; attempt++) {
    try {
      return await openOnce(socketPath, method, path, body, extraHeaders);
    } catch (error) {
      const busy = (error as NodeJS.ErrnoException).code === 'EAGAIN';
      if (!busy || attempt >= busyRetries) throw error;
      await new Promise((r) => setTimeout(r, busyRetryMs));
    }
  }
}

function openOnce(
  socketPath: string,
  method: string,
  path: string,
  body: unknown,
  extraHeaders: Record<string, string>,
): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    // Bytes go as they are (a worker's task); anything else as JSON.
    const raw = body instanceof Uint8Array;
    const payload = body === undefined ? undefined : raw ? body : JSON.stringify(body);
    const headers: Record<string, string | number> = { ...extraHeaders };
    if (payload !== undefined) {
      headers['content-type'] = raw ? 'application/octet-stream' : 'application/json';
      headers['content-length'] = Buffer.byteLength(payload);
    }
    // No keep-alive: one connection per request, so the daemon holds no idle sockets. An
    // empty servername: the agent would otherwise test whether the host is an IP address
    // (TLS's SNI; nothing here), and compiling its IPv6 pattern costs a CLI ~3 ms of CPU.
    const options = { socketPath, method, path, headers, agent: false, servername: '' };
    const req = httpRequest(options, resolve);
    req.on('error', (err: NodeJS.ErrnoException) => {
      const code = err.code ?? 'EUNKNOWN';
      const unreachable = ['ENOENT', 'ECONNREFUSED', 'ENOTSOCK', 'EACCES'].includes(code);
      reject(unreachable ? new UnreachableError(socketPath, code) : err);
    });
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

export async function requestJson<T = unknown>(
  socketPath: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<Reply<T>> {
  const res = await open(socketPath, method, path, body);
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  let parsed: unknown = text;
  if ((res.headers['content-type'] ?? '').includes('application/json') && text) {
    parsed = JSON.parse(text);
  }
  return { status: res.statusCode ?? 0, body: parsed as T };
}

/**
 * Streams a reply body to `onChunk`; resolves with the status when the server ends it.
 * A non-2xx reply is collected and returned as text instead.
 */
export async function requestStream(
  socketPath: string,
  path: string,
  /** A returned promise pauses the reading until it settles; other results are ignored. */
  onChunk: (chunk: Buffer) => unknown,
  options: { headers?: Record<string, string> } = {},
): Promise<{ status: number; errorText: string }> {
  const res = await open(socketPath, 'GET', path, undefined, options.headers);
  const status = res.statusCode ?? 0;
  const errorChunks: Buffer[] = [];
  for await (const chunk of res) {
    if (status < 200 || status >= 300) {
      errorChunks.push(chunk as Buffer);
      continue;
    }
    // A slow consumer (stdout into a stalled pipe) stops the reading: the daemon pauses.
    const busy = onChunk(chunk as Buffer);
    if (busy instanceof Promise) await busy;
  }
  return { status, errorText: Buffer.concat(errorChunks).toString('utf8') };
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
