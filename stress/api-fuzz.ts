/**
 * API fuzzing: random methods, paths (real routes, unknown ones, malformed %-escapes,
 * huge ones) and bodies (garbage, wrong types, oversized). Every request must be answered
 * with a status that is not a 5xx "internal"; health must keep answering.
 */

import {
  loopDelayMaxMs,
  newDir,
  removeDir,
  rssSampler,
  startDaemon,
  stopDaemon,
} from './daemon.js';
import { call, healthy } from './http.js';
import { mib, type Outcome, rng, type StressOptions } from './report.js';

const methods = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'];
const paths = [
  '/v1/health',
  '/v1/workspaces',
  '/v1/workspaces/%',
  '/v1/workspaces/%E0%A4%A',
  '/v1/workspaces/w/commands',
  '/v1/workspaces/w/commands/%ZZ/logs',
  '/v1/workspaces/w/stop',
  '/v1/pipelines',
  '/v1/pipelines/..%2f..%2fetc',
  '/v1/saved-pipelines/x',
  '/v1/saved-pipelines/%00',
  '/v1/events?history=-1',
  '/v1/events?history=99999999999999999999',
  '/metrics',
  '/v1/doctor',
  '//v1//health',
  '/v1/workspaces/w/commands/c/logs?tail=abc&which=neither',
];

function body(pick: (n: number) => number): string | Buffer | undefined {
  switch (pick(8)) {
    case 0:
      return undefined;
    case 1:
      return '{';
    case 2:
      return JSON.stringify({ toml: 42, spec: [], source: null, graceMs: -1, vars: { a: 1 } });
    case 3:
      return Buffer.alloc(1024 * 1024 + 1 + pick(512 * 1024), 0x7b);
    case 4:
      return JSON.stringify({ exec: '/bin/true', label: 'x'.repeat(pick(200)), argv: 'nope' });
    case 5:
      return JSON.stringify([1, 2, 3]);
    case 6:
      return Buffer.from(Array.from({ length: pick(4096) }, () => pick(256)));
    default:
      return JSON.stringify({ toml: 'label = "w"\n' });
  }
}

export async function apiFuzz(o: StressOptions): Promise<Outcome> {
  const total = o.long ? 4000 : 300;
  const dir = newDir('api');
  const notes: string[] = [];
  const d = await startDaemon(dir);
  try {
    const rss = rssSampler(d.child.pid);
    const pick = rng(o.seed + 1);
    let answered = 0;
    let healthMissed = 0;
    for (let i = 0; i < total; i++) {
      let path = paths[pick(paths.length)]!;
      if (pick(10) === 0) path += `/${'a'.repeat(pick(20_000))}`;
      const method = methods[pick(methods.length)]!;
      const sent = body(pick);
      const a = await call(d.socket, method, path, sent);
      if (a.status !== 0 && !a.body.includes('"internal"')) answered += 1;
      else if (notes.length < 5) {
        const sizes = `path ${path.length} chars, body ${sent?.length ?? 0} bytes`;
        const what = `${method} ${path.slice(0, 60)} (${sizes})`;
        notes.push(`${what}: ${a.status} ${a.error ?? a.body.slice(0, 200)}`);
      }
      if (i % 25 === 0 && !(await healthy(d.socket))) healthMissed += 1;
      if (d.crashed) break;
    }
    rss.stop();
    const delayMs = await loopDelayMaxMs(d.socket);
    if (d.crashed) notes.push(`daemon crashed: ${d.crashed}`);
    if (healthMissed > 0) notes.push(`${healthMissed} health checks unanswered`);
    const ok = !d.crashed && answered === total && healthMissed === 0;
    const figures =
      `requests answered ${answered}/${total}, max event-loop delay ${delayMs} ms, ` +
      `peak RSS ${mib(rss.peak())}`;
    return { attack: 'api-fuzz', ok, figures, notes };
  } finally {
    await stopDaemon(d);
    removeDir(dir);
  }
}
