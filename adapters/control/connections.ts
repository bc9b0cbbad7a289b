/**
 * Connection limits for the control socket (docs/CONTRACT.md §6). Every connection is
 * counted; at most `connectionsMax` are kept. A new connection past the cap evicts the
 * oldest one that has no request in flight (an idle or slow-header client), so a flood of
 * idle connections can neither exhaust the daemon's fds nor lock out `health`; when every
 * kept connection is busy, the new one is closed at once. A connection with no request in
 * flight is closed after `idleTimeoutMs`; a streaming reply (log follow, SSE) is exempt.
 *
 * Header and request timeouts are checked here, not by Node's HTTP server: Node checks them
 * on an interval that runs from `listen` to `close`, connections or not, which woke an idle
 * daemon every second. This check runs only while a connection is open.
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

/** How often open connections are checked against the header and request timeouts. */
const timeoutCheckEveryMs = 1000;

interface ConnState {
  /** Requests received and not yet answered. */
  inFlight: number;
  acceptedAtMs: number;
  /** `bytesRead` when nothing was pending (accepted, or the last reply finished). */
  bytesAtRestTotal: number;
  /** When a check first saw bytes of a request whose headers are not complete yet. */
  headersSinceMs: number | null;
  /** A request whose body may still be arriving, and when its first bytes were seen. */
  receiving: { req: IncomingMessage; res: ServerResponse; sinceMs: number } | null;
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
  stopIdleTimer(sock);
}

/**
 * Idle timers are plain (ref'd) timers, not `socket.setTimeout`: Node keeps the list of an
 * unref'd duration queued after its last timer is cleared, so every connection left one
 * wakeup behind, up to `idleTimeoutMs` after it closed. A cleared ref'd timer leaves none.
 */
const idleTimers = new WeakMap<Socket, NodeJS.Timeout>();

function stopIdleTimer(sock: Socket): void {
  clearTimeout(idleTimers.get(sock));
  idleTimers.delete(sock);
}

function startIdleTimer(sock: Socket, idleMs: number): void {
  stopIdleTimer(sock);
  if (sock.destroyed || streamingSockets.has(sock)) return;
  idleTimers.set(
    sock,
    setTimeout(() => sock.destroy(), idleMs),
  );
}

export function guardConnections(server: Server, limits: ConnectionLimits): ConnectionGuard {
  const conns = new Map<Socket, ConnState>();
  let evicted = 0;
  const checker = timeoutChecker(server, conns, limits);
  const idle = (sock: Socket) => startIdleTimer(sock, limits.idleTimeoutMs);
  server.on('connection', (sock: Socket) => {
    if (conns.size >= limits.connectionsMax && !evictOldestIdle(conns)) {
      evicted += 1;
      sock.destroy();
      return;
    }
    if (conns.size >= limits.connectionsMax) evicted += 1;
    const acceptedAtMs = performance.now();
    const state = { inFlight: 0, acceptedAtMs, bytesAtRestTotal: 0 };
    conns.set(sock, { ...state, headersSinceMs: null, receiving: null });
    checker.wake();
    sock.once('close', () => {
      stopIdleTimer(sock);
      conns.delete(sock);
      checker.sleepIfIdle();
    });
    idle(sock);
  });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const sock = req.socket;
    const state = conns.get(sock);
    if (state === undefined) return;
    state.inFlight += 1;
    state.receiving = { req, res, sinceMs: state.headersSinceMs ?? performance.now() };
    state.headersSinceMs = null;
    stopIdleTimer(sock);
    res.once('close', () => {
      state.inFlight -= 1;
      if (state.receiving?.res === res) state.receiving = null;
      if (state.inFlight > 0 || sock.destroyed) return;
      state.bytesAtRestTotal = sock.bytesRead;
      idle(sock);
    });
  });
  server.on('clientError', answerClientError);
  server.once('close', () => checker.stop());
  return { count: () => conns.size, evictedTotal: () => evicted };
}

/**
 * One interval, armed while any connection is open: a request whose headers took longer
 * than `headersTimeoutMs`, or which as a whole took longer than `requestTimeoutMs`, is
 * answered 408 and closed (as Node would). Checked every second, so a limit is enforced
 * within a second of passing.
 */
function timeoutChecker(server: Server, conns: Map<Socket, ConnState>, limits: ConnectionLimits) {
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;
  const everyMs = Math.min(timeoutCheckEveryMs, limits.headersTimeoutMs, limits.requestTimeoutMs);
  const check = () => {
    const nowMs = performance.now();
    for (const [sock, state] of conns) {
      if (timedOut(sock, state, nowMs, limits)) expire(server, sock, state);
    }
  };
  const sleepIfIdle = () => {
    if (timer === null || conns.size > 0) return;
    clearInterval(timer);
    timer = null;
  };
  return {
    wake: () => {
      if (timer !== null || stopped || everyMs <= 0) return;
      timer = setInterval(check, everyMs);
      timer.unref();
    },
    sleepIfIdle,
    stop: () => {
      stopped = true;
      if (timer !== null) clearInterval(timer);
      timer = null;
    },
  };
}

function timedOut(sock: Socket, state: ConnState, nowMs: number, limits: ConnectionLimits) {
  if (streamingSockets.has(sock) || sock.destroyed) return false;
  const { receiving } = state;
  if (receiving !== null) {
    if (receiving.req.complete) return false;
    return limits.requestTimeoutMs > 0 && nowMs - receiving.sinceMs >= limits.requestTimeoutMs;
  }
  if (state.inFlight > 0 || sock.bytesRead <= state.bytesAtRestTotal) return false;
  state.headersSinceMs ??= nowMs;
  const waitedMs = nowMs - state.headersSinceMs;
  const over = (limitMs: number) => limitMs > 0 && waitedMs >= limitMs;
  return over(limits.headersTimeoutMs) || over(limits.requestTimeoutMs);
}

/** Node's answer to a timed-out request: 408 (via `clientError`), or a reset mid-reply. */
function expire(server: Server, sock: Socket, state: ConnState): void {
  if (state.receiving?.res.headersSent) {
    sock.destroy();
    return;
  }
  const error = Object.assign(new Error('request timeout'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' });
  server.emit('clientError', error, sock);
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
