/**
 * A child of the connection-flood attack: holds `count` idle connections to `socket`
 * (re-opening each one the daemon closes) and `slow` slowloris connections that send a
 * request header one byte at a time. A process holds at most ~10,000 (its fd limit), so
 * the attack runs several. Prints `{"opened":N,"open":N,"errors":N}` on SIGTERM and exits.
 */

import { connect, type Socket } from 'node:net';

const [socket = '', countText = '0', slowText = '0'] = process.argv.slice(2);
const count = Number(countText);
const slow = Number(slowText);
/** A closed connection is opened again after this long (connection churn on top). */
const reopenAfterMs = 3000;
let opened = 0;
let errors = 0;
let stopping = false;
const live = new Set<Socket>();

function open(onDone: () => void, slowloris: boolean): void {
  const sock = connect(socket);
  let settled = false;
  const settle = () => {
    if (!settled) {
      settled = true;
      onDone();
    }
  };
  sock.on('connect', () => {
    opened += 1;
    live.add(sock);
    settle();
    if (slowloris) drip(sock);
  });
  sock.on('error', () => {
    errors += 1;
    settle();
  });
  sock.on('data', () => undefined);
  sock.on('close', () => {
    live.delete(sock);
    settle();
    // Re-open what the daemon closed, after a pause: the flood goes on.
    if (!stopping) setTimeout(() => open(() => undefined, slowloris), reopenAfterMs);
  });
}

function drip(sock: Socket): void {
  const header = 'GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Slow: ';
  sock.write(header);
  const timer = setInterval(() => {
    if (sock.destroyed) clearInterval(timer);
    else sock.write('a');
  }, 500);
}

async function main(): Promise<void> {
  const batch = 200;
  for (let i = 0; i < count; i += batch) {
    const n = Math.min(batch, count - i);
    await Promise.all(Array.from({ length: n }, () => new Promise<void>((r) => open(r, false))));
  }
  for (let i = 0; i < slow; i++) open(() => undefined, true);
  process.stdout.write('ready\n');
}

process.on('SIGTERM', () => {
  stopping = true;
  process.stdout.write(`${JSON.stringify({ opened, open: live.size, errors })}\n`);
  for (const s of live) s.destroy();
  process.exit(0);
});

void main();
