/**
 * Disk full: the state lives on a small tmpfs (mounted only when running as root and the
 * mount is allowed; otherwise the attack is skipped and says why). Writers fill it until
 * snapshot writes fail; the daemon must keep answering (refusing writes, not crashing), and
 * after a kill -9 and a restart every acknowledged write must still be there.
 */

import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  killHard,
  loopDelayMaxMs,
  newDir,
  removeDir,
  type StressDaemon,
  sleep,
  startDaemon,
  stopDaemon,
} from './daemon.js';
import { healthy } from './http.js';
import type { Outcome, StressOptions } from './report.js';
import { audit, startWriters } from './writers.js';

function tryMount(at: string, size: string): string | null {
  if (process.getuid?.() !== 0) return 'not running as root';
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', at], {
      stdio: 'pipe',
    });
    return null;
  } catch (error) {
    return `mount -t tmpfs failed: ${(error as Error).message.split('\n')[0]}`;
  }
}

export async function diskFull(o: StressOptions): Promise<Outcome> {
  const dir = newDir('disk');
  const mnt = join(dir, 'small');
  mkdirSync(mnt, { mode: 0o700 });
  const why = tryMount(mnt, o.long ? '4m' : '1m');
  if (why !== null) {
    removeDir(dir);
    return { attack: 'disk-full', ok: true, figures: 'skipped', notes: [`skipped: ${why}`] };
  }
  const notes: string[] = [];
  let d: StressDaemon | null = null;
  try {
    const state = join(mnt, 'state', 'state.json');
    d = await startDaemon(dir, state);
    const current = d;
    const writers = startWriters(() => current.socket, 3, 20_000);
    let healthAsked = 0;
    let healthAnswered = 0;
    const until = Date.now() + (o.long ? 20_000 : 6000);
    while (Date.now() < until && writers.refused < 50) {
      healthAsked += 1;
      if (await healthy(d.socket)) healthAnswered += 1;
      await sleep(200);
    }
    await writers.stop();
    const delayMs = await loopDelayMaxMs(d.socket);
    const crashed = d.crashed;
    await killHard(d);
    d = await startDaemon(dir, state);
    const lost = await audit(d.socket, writers);
    const acked = writers.ackedSaved.size + writers.ackedWorkspaces.size;
    if (crashed) notes.push(`daemon crashed: ${crashed}`);
    if (lost === null) notes.push('audit: the restarted daemon did not answer');
    else if (lost.length > 0) notes.push(`lost: ${lost.slice(0, 10).join(', ')}`);
    if (writers.refused === 0) notes.push('the disk never filled: no write was refused');
    const missed = healthAsked - healthAnswered;
    if (missed > 0) notes.push(`${missed} health checks unanswered`);
    const ok =
      !crashed && lost !== null && lost.length === 0 && missed === 0 && writers.refused > 0;
    const figures =
      `writes acknowledged ${acked}, refused ${writers.refused}, acknowledged writes lost ` +
      `${lost?.length ?? '?'}, health answered ${healthAnswered}/${healthAsked}, ` +
      `max event-loop delay ${delayMs} ms`;
    return { attack: 'disk-full', ok, figures, notes };
  } finally {
    if (d !== null) await stopDaemon(d);
    try {
      execFileSync('umount', [mnt], { stdio: 'pipe' });
    } catch (error) {
      notes.push(`umount ${mnt} failed: ${(error as Error).message.split('\n')[0]}`);
    }
    removeDir(dir);
  }
}
