/**
 * kill -9 loop: writers run against the daemon while it is SIGKILLed at random moments
 * and restarted on the same state; after each restart every write that got a 2xx must be
 * there (the acknowledged-write audit).
 */

import {
  killHard,
  loopDelayMaxMs,
  newDir,
  removeDir,
  rssSampler,
  type StressDaemon,
  sleep,
  startDaemon,
  stopDaemon,
} from './daemon.js';
import { mib, type Outcome, rng, type StressOptions } from './report.js';
import { audit, startWriters } from './writers.js';

export async function killLoop(o: StressOptions): Promise<Outcome> {
  const kills = o.long ? 40 : 5;
  const dir = newDir('kill');
  const notes: string[] = [];
  const pick = rng(o.seed + 2);
  let d: StressDaemon = await startDaemon(dir);
  const writers = startWriters(() => d.socket, 4);
  let lost = new Set<string>();
  let crashes = 0;
  let delayMaxMs = 0;
  let rssPeak = 0;
  try {
    for (let k = 0; k < kills; k++) {
      const rss = rssSampler(d.child.pid);
      await sleep(150 + pick(600));
      delayMaxMs = Math.max(delayMaxMs, await loopDelayMaxMs(d.socket));
      rss.stop();
      rssPeak = Math.max(rssPeak, rss.peak());
      if (d.crashed) {
        crashes += 1;
        notes.push(`daemon crashed: ${d.crashed}`);
      }
      await killHard(d);
      d = await startDaemon(dir);
      const missing = await audit(d.socket, writers);
      if (missing === null) notes.push(`audit after kill ${k + 1}: daemon did not answer`);
      else lost = new Set([...lost, ...missing]);
    }
    await writers.stop();
    const final = await audit(d.socket, writers);
    if (final !== null) lost = new Set([...lost, ...final]);
    const acked = writers.ackedSaved.size + writers.ackedWorkspaces.size;
    if (lost.size > 0) notes.push(`lost: ${[...lost].slice(0, 10).join(', ')}`);
    if (acked === 0) notes.push('no write was acknowledged: the audit checked nothing');
    const ok = lost.size === 0 && crashes === 0 && acked > 0 && final !== null;
    const figures =
      `kills ${kills}, acknowledged writes ${acked}, acknowledged writes lost ${lost.size}, ` +
      `max event-loop delay ${delayMaxMs} ms, peak RSS ${mib(rssPeak)}`;
    return { attack: 'kill-loop', ok, figures, notes };
  } finally {
    await writers.stop();
    await stopDaemon(d);
    removeDir(dir);
  }
}
