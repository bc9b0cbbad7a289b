/**
 * stdout flood: a supervised command writes as fast as it can; health must answer
 * throughout and the daemon's RSS must stay under twice its idle RSS (capture is a ring).
 */

import {
  loopDelayMaxMs,
  newDir,
  removeDir,
  rssBytes,
  rssSampler,
  sleep,
  startDaemon,
  stopDaemon,
} from './daemon.js';
import { callJson, healthy } from './http.js';
import { mib, type Outcome, type StressOptions } from './report.js';

export async function stdoutFlood(o: StressOptions): Promise<Outcome> {
  const dir = newDir('flood');
  const notes: string[] = [];
  const d = await startDaemon(dir);
  try {
    await callJson(d.socket, 'POST', '/v1/workspaces', { toml: 'label = "flood"\n' });
    await sleep(500);
    const idle = rssBytes(d.child.pid);
    const rss = rssSampler(d.child.pid);
    const line = 'x'.repeat(4000);
    const run = await callJson(d.socket, 'POST', '/v1/workspaces/flood/commands', {
      exec: '/usr/bin/yes',
      argv: [line],
      label: 'flood',
    });
    if (run.status !== 200) notes.push(`run: ${run.status} ${run.body.slice(0, 200)}`);
    let asked = 0;
    let answered = 0;
    const until = Date.now() + (o.long ? 20_000 : 4000);
    while (Date.now() < until) {
      asked += 1;
      if (await healthy(d.socket)) answered += 1;
      await sleep(200);
    }
    const stats = await callJson(d.socket, 'GET', '/v1/workspaces/flood/commands');
    const logBytes = /"logBytes":(\d+)/.exec(stats.body)?.[1] ?? '?';
    await callJson(d.socket, 'POST', '/v1/workspaces/flood/stop', { graceMs: 0 });
    rss.stop();
    const peak = rss.peak();
    const ratio = idle > 0 ? peak / idle : 0;
    const delayMs = await loopDelayMaxMs(d.socket);
    if (d.crashed) notes.push(`daemon crashed: ${d.crashed}`);
    if (answered < asked) notes.push(`${asked - answered} health checks unanswered`);
    if (ratio >= 2) notes.push(`peak RSS ${ratio.toFixed(2)}x idle (goal < 2x)`);
    const ok = !d.crashed && answered === asked && ratio < 2 && run.status === 200;
    const figures =
      `health answered ${answered}/${asked}, captured ${logBytes} bytes, max event-loop ` +
      `delay ${delayMs} ms, peak RSS ${mib(peak)} vs idle ${mib(idle)} (${ratio.toFixed(2)}x)`;
    return { attack: 'stdout-flood', ok, figures, notes };
  } finally {
    await stopDaemon(d);
    removeDir(dir);
  }
}
