/**
 * Slowloris and idle connections: holder processes open `total` idle connections (20,000
 * in the long form, re-opened as the daemon closes them) plus slowloris ones, while health
 * is asked every 200 ms. Every health check must be answered; the daemon's open fds must
 * stay bounded (the connection cap, not the flood, sets them).
 */

import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  loopDelayMaxMs,
  newDir,
  removeDir,
  rssSampler,
  sleep,
  startDaemon,
  stopDaemon,
} from './daemon.js';
import { health } from './http.js';
import { mib, type Outcome, type StressOptions } from './report.js';

const holderEntry = fileURLToPath(new URL('./holder.ts', import.meta.url));
const perHolderMax = 9000;

function fdCount(pid: number | undefined): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return 0;
  }
}

interface Holder {
  ready: Promise<void>;
  stop(): Promise<{ opened: number; open: number; errors: number }>;
}

function startHolder(socket: string, count: number, slow: number): Holder {
  // Niced: on a loaded host the attack must not win by starving the daemon of CPU.
  const child = spawn(
    'nice',
    [
      '-n',
      '10',
      process.execPath,
      '--import',
      'tsx',
      holderEntry,
      socket,
      String(count),
      String(slow),
    ],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let out = '';
  let onReady: () => void = () => undefined;
  const ready = new Promise<void>((r) => {
    onReady = r;
  });
  child.stdout.on('data', (c: Buffer) => {
    out += c.toString();
    if (out.includes('ready\n')) onReady();
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.once('exit', () => onReady());
  return {
    ready,
    async stop() {
      child.kill('SIGTERM');
      await exited;
      const line = out.split('\n').find((l) => l.startsWith('{'));
      return line ? JSON.parse(line) : { opened: 0, open: 0, errors: 0 };
    },
  };
}

export async function connFlood(o: StressOptions): Promise<Outcome> {
  const total = o.long ? 20_000 : 2000;
  const slow = o.long ? 500 : 100;
  const floodMs = o.long ? 30_000 : 5000;
  const dir = newDir('conn');
  const notes: string[] = [];
  const d = await startDaemon(dir);
  const holders: Holder[] = [];
  try {
    const rss = rssSampler(d.child.pid);
    let healthAsked = 0;
    let healthAnswered = 0;
    let fdPeak = fdCount(d.child.pid);
    let checking = true;
    const healthErrors: string[] = [];
    const checker = (async () => {
      while (checking) {
        healthAsked += 1;
        const a = await health(d.socket, 5000);
        if (a.status === 200) healthAnswered += 1;
        else if (healthErrors.length < 3) healthErrors.push(`${a.status} ${a.error ?? ''}`);
        fdPeak = Math.max(fdPeak, fdCount(d.child.pid));
        await sleep(200);
      }
    })();
    for (let left = total; left > 0; left -= perHolderMax) {
      const n = Math.min(perHolderMax, left);
      holders.push(startHolder(d.socket, n, left === total ? slow : 0));
    }
    await Promise.all(holders.map((h) => h.ready));
    await sleep(floodMs);
    const counts = await Promise.all(holders.map((h) => h.stop()));
    holders.length = 0;
    checking = false;
    await checker;
    rss.stop();
    const opened = counts.reduce((n, c) => n + c.opened, 0);
    const delayMs = await loopDelayMaxMs(d.socket);
    if (d.crashed) notes.push(`daemon crashed: ${d.crashed}`);
    const missed = healthAsked - healthAnswered;
    if (missed > 0) notes.push(`${missed} health checks unanswered: ${healthErrors.join('; ')}`);
    const ok = !d.crashed && missed === 0 && opened >= total;
    if (opened < total) notes.push(`only ${opened} of ${total} connections were opened`);
    const figures =
      `connections opened ${opened} (${total} idle + ${slow} slowloris held), health answered ` +
      `${healthAnswered}/${healthAsked}, daemon fds peak ${fdPeak}, max event-loop delay ` +
      `${delayMs} ms, peak RSS ${mib(rss.peak())}`;
    return { attack: 'conn-flood', ok, figures, notes };
  } finally {
    await Promise.all(holders.map((h) => h.stop()));
    await stopDaemon(d);
    removeDir(dir);
  }
}
