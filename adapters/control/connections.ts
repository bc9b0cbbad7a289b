/**
 * Connection limits for the control socket (docs/CONTRACT.md §6). Every connection is
 * counted; at most `connectionsMax` are kept. A new connection past the cap evicts the
 * oldest one that has no request in flight (an idle or slow-header client), so a flood of
 * idle connections can neither exhaust the daemon's fds nor lock out `health`; when every
 * kept connection is busy, the new one is closed at once. A connection with no request in
 * flight is closed after `idleTimeoutMs`; a streaming reply (log follow, SSE) is exempt.
 */

import { type IncomingMessage, type Server, type ServerResponse, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';

/** After an unparseable request is answered, what the client still sends is read this long. */
const clientErrorGraceMs = 1000;

export interface ConnectionLimits {
  /** Connections kept open at once (streams included). */
  connectionsMax: number;
  /** A connection with no request in flight is closed after this long. */
  idleTimeoutMs: number;
  /** Time allowed for a request's headers to arrive. */
  headersTimeoutMs: number;
  /** Time allowed for a whole request (headers and body) to arrive. */
  requestTimeoutMs: number;
}

export const connectionLimitsDefault: ConnectionLimits = {
  connectionsMax: 1024,
  idleTimeoutMs: 30_000,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
};

interface ConnState {
  /** Requests received and not yet answered. */
  inFlight: number;
  acceptedAtMs: number;
}

/**
 * A connection that has said nothing for this long is a better eviction victim than a
 * newer one: a real client sends its request right after connecting, but its first bytes
 * may be read only after a burst of other accepts.
 */
const quietAfterMs = 100;

export interface ConnectionGuard {
  /** Connections open now. */
  count(): number;
  /** Connections closed because of the cap, since start. */
  evictedTotal(): number;
}

const streamingSockets = new WeakSet<Socket>();

/** A streaming reply (follow, SSE): no idle timeout for its connection; still counted. */
export function markStreaming(res: ServerResponse): void {
  const sock = res.socket;
  if (sock === null) return;
  streamingSockets.add(sock);
  sock.setTimeout(0);
}

export function guardConnections(server: Server, limits: ConnectionLimits): ConnectionGuard {
  const conns = new Map<Socket, ConnState>();
  let evicted = 0;
  const idle = (sock: Socket) => sock.setTimeout(limits.idleTimeoutMs);
  server.on('connection', (sock: Socket) => {
    if (conns.size >= limits.connectionsMax && !evictOldestIdle(conns)) {
      evicted += 1;
      sock.destroy();
      return;
    }
    if (conns.size >= limits.connectionsMax) evicted += 1;
    conns.set(sock, { inFlight: 0, acceptedAtMs: performance.now() });
    sock.once('close', () => conns.delete(sock));
    sock.on('timeout', () => sock.destroy());
    idle(sock);
  });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const sock = req.socket;
    const state = conns.get(sock);
    if (state === undefined) return;
    state.inFlight += 1;
    sock.setTimeout(0);
    res.once('close', () => {
      state.inFlight -= 1;
      if (state.inFlight === 0 && !sock.destroyed) idle(sock);
    });
  });
  server.on('clientError', answerClientError);
  return { count: () => conns.size, evictedTotal: () => evicted };
}

/**
 * A request Node cannot parse (headers too large, malformed, too slow): answer with the
 * status, then read away what the client is still sending for a moment before closing, so
 * it gets the reply instead of EPIPE. A slow client is cut off after the grace.
 */
const answered = new WeakSet<Duplex>();

function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (answered.has(socket)) return; // The parser keeps failing on what follows: one reply.
  answered.add(socket);
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const status =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? 431
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? 408
        : 400;
  // No FIN yet: a client still writing its body would get EPIPE before reading the reply.
  socket.write(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`,
  );
  socket.once('end', () => socket.end());
  socket.resume();
  setTimeout(() => socket.destroy(), clientErrorGraceMs).unref();
}

/**
 * Closes one connection with no request in flight: the oldest that has not sent a byte in
 * `quietAfterMs`, else the oldest idle one. False when every connection is busy.
 */
function evictOldestIdle(conns: Map<Socket, ConnState>): boolean {
  const quietBefore = performance.now() - quietAfterMs;
  let fallback: Socket | null = null;
  for (const [sock, state] of conns) {
    if (state.inFlight > 0 || streamingSockets.has(sock)) continue;
    if (sock.bytesRead === 0 && state.acceptedAtMs <= quietBefore) {
      fallback = sock;
      break;
    }
    fallback ??= sock;
  }
  if (fallback === null) return false;
  conns.delete(fallback);
  fallback.destroy();
  return true;
}
