/**
 * Spec fuzzing: mutated workspace and pipeline TOML through the real daemon API. Every
 * request must be answered (any status but a 5xx "internal"), health must answer between
 * batches, and the daemon's peak RSS must stay under twice its idle RSS.
 */

import { performance } from 'node:perf_hooks';
import {
  loopDelayMaxMs,
  newDir,
  removeDir,
  rssBytes,
  rssSampler,
  startDaemon,
  stopDaemon,
} from './daemon.js';
import { callJson, healthy } from './http.js';
import { mib, type Outcome, rng, type StressOptions } from './report.js';

const BASE_PIPELINE = `label = "fz"
workspace = "nowhere"
restart_on_failure = false
[discern]
sample_bytes = 4096
[[nodes]]
label = "a"
payload = { Native = { exec = "/bin/true", argv = [], envp = [] } }
[[nodes]]
label = "b"
payload = { Native = { exec = "/bin/true" } }
[[edges]]
from = 0
to = 1
`;

const BASE_WORKSPACE = `label = "w"
on_exit = "reap"
ttl = 0
[soma.rlimits]
nproc = 8
[soma.namespaces]
user = false
[quota_enforce]
mem = "log"
`;

type Mutation = (text: string, pick: (n: number) => number) => string;

const junk = [
  '"',
  '[',
  ']',
  '[[',
  '=',
  '\\',
  '\n',
  '\u0000',
  '\u001b[2J',
  '$' + '{X}',
  '#',
  '{',
  '}',
];

const mutations: Mutation[] = [
  // flip one character
  (t, p) => {
    const i = p(t.length);
    return t.slice(0, i) + junk[p(junk.length)] + t.slice(i + 1);
  },
  // duplicate a line many times (duplicate keys, tables, edges)
  (t, p) => {
    const lines = t.split('\n');
    const i = p(lines.length);
    const bound = Math.floor(4_000_000 / ((lines[i]?.length ?? 0) + 1));
    const copies = Array.from({ length: Math.min(1 + p(3000), bound) }, () => lines[i]);
    return [...lines.slice(0, i), ...copies, ...lines.slice(i)].join('\n');
  },
  // many nodes (the 5,000-node pipelines of the adversarial run)
  (t, p) => {
    const n = 1 + p(6000);
    const nodes = Array.from(
      { length: n },
      (_, i) => `[[nodes]]\nlabel = "n${i}"\n` + 'payload = { Native = { exec = "/bin/true" } }\n',
    );
    return t + nodes.join('');
  },
  // many duplicate edges
  (t, p) => t + '[[edges]]\nfrom = 0\nto = 1\n'.repeat(1 + p(3000)),
  // a huge label
  (t, p) => t.replace(/label = "[^"]*"/, `label = "${'x'.repeat(1 + p(900_000))}"`),
  // deep nesting
  (t, p) => `${t}\nz = ${'['.repeat(1 + p(5000))}`,
  // truncate
  (t, p) => t.slice(0, p(t.length)),
  // big numbers
  (t, p) => t.replace(/= \d+/, `= ${'9'.repeat(1 + p(400))}`),
];

/** The i-th mutated spec of a run (pipelines, every fourth a workspace). */
export function mutatedSpec(i: number, pick: (n: number) => number) {
  const pipeline = i % 4 !== 3;
  let text = pipeline ? BASE_PIPELINE : BASE_WORKSPACE;
  const rounds = 1 + pick(3);
  for (let k = 0; k < rounds; k++) {
    // Past the body limit more text only tests the client; keep it under 2 MiB.
    text = mutations[pick(mutations.length)]!(text, pick).slice(0, 2 * 1024 * 1024);
  }
  return { pipeline, text };
}

export async function specFuzz(o: StressOptions): Promise<Outcome> {
  const total = o.long ? 3200 : 160;
  const dir = newDir('spec');
  const notes: string[] = [];
  const d = await startDaemon(dir);
  try {
    await callJson(d.socket, 'POST', '/v1/workspaces', { toml: BASE_WORKSPACE });
    const idle = rssBytes(d.child.pid);
    const rss = rssSampler(d.child.pid);
    const pick = rng(o.seed);
    let answered = 0;
    let healthMissed = 0;
    let slowest = { ms: 0, what: '' };
    for (let i = 0; i < total; i++) {
      const { pipeline, text } = mutatedSpec(i, pick);
      const sentAt = performance.now();
      const a = pipeline
        ? await callJson(d.socket, 'POST', '/v1/pipelines', { source: text })
        : await callJson(d.socket, 'POST', '/v1/workspaces', { toml: text });
      const tookMs = Math.round(performance.now() - sentAt);
      if (tookMs > slowest.ms) slowest = { ms: tookMs, what: `#${i} ${text.length} chars` };
      if (a.status !== 0 && !a.body.includes('"internal"')) answered += 1;
      else if (notes.length < 5)
        notes.push(`spec #${i}: ${a.status} ${a.error ?? a.body.slice(0, 200)}`);
      if (i % 20 === 0 && !(await healthy(d.socket))) healthMissed += 1;
      if (d.crashed) break;
    }
    rss.stop();
    const peak = rss.peak();
    const delayMs = await loopDelayMaxMs(d.socket);
    const ratio = idle > 0 ? peak / idle : 0;
    if (d.crashed) notes.push(`daemon crashed: ${d.crashed}`);
    if (healthMissed > 0) notes.push(`${healthMissed} health checks unanswered`);
    if (ratio >= 2) notes.push(`peak RSS ${ratio.toFixed(2)}x idle (goal < 2x)`);
    const ok = !d.crashed && answered === total && healthMissed === 0 && ratio < 2;
    const figures =
      `requests answered ${answered}/${total}, slowest ${slowest.ms} ms (${slowest.what}), ` +
      `max event-loop delay ${delayMs} ms, ` +
      `peak RSS ${mib(peak)} vs idle ${mib(idle)} (${ratio.toFixed(2)}x)`;
    return { attack: 'spec-fuzz', ok, figures, notes };
  } finally {
    await stopDaemon(d);
    removeDir(dir);
  }
}
