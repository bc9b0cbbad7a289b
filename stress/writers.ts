/**
 * Concurrent writers of durable state (saved pipelines and workspaces) that remember every
 * write the daemon acknowledged with a 2xx, and the audit that checks each is still there.
 */

import { sleep } from './daemon.js';
import { call, callJson } from './http.js';

export function savedSource(tag: string, padChars = 0): string {
  const pad = padChars > 0 ? `# ${'p'.repeat(padChars)}\n` : '';
  return (
    `${pad}label = "p-${tag}"\nworkspace = "w"\n[[nodes]]\nlabel = "a"\n` +
    'payload = { Native = { exec = "/bin/cat" } }\n'
  );
}

export interface Writers {
  /** Names of acknowledged saved pipelines and labels of acknowledged workspaces. */
  ackedSaved: Set<string>;
  ackedWorkspaces: Set<string>;
  attempts: number;
  refused: number;
  stop(): Promise<void>;
}

/** `count` loops writing as fast as answers come; unanswered writes are simply retried. */
export function startWriters(socket: () => string, count: number, padChars = 0): Writers {
  const w: Writers = {
    ackedSaved: new Set(),
    ackedWorkspaces: new Set(),
    attempts: 0,
    refused: 0,
    stop: async () => undefined,
  };
  let running = true;
  const loops = Array.from({ length: count }, async (_, id) => {
    for (let seq = 0; running; seq++) {
      const tag = `${id}-${seq}`;
      w.attempts += 1;
      if (seq % 4 === 3) {
        const a = await callJson(socket(), 'POST', '/v1/workspaces', {
          toml: `label = "ws-${tag}"\n`,
        });
        if (a.status >= 200 && a.status < 300) w.ackedWorkspaces.add(`ws-${tag}`);
        else if (a.status !== 0) w.refused += 1;
        else await sleep(20);
      } else {
        const body = { source: savedSource(tag, padChars) };
        const a = await callJson(socket(), 'PUT', `/v1/saved-pipelines/s-${tag}`, body);
        if (a.status >= 200 && a.status < 300) w.ackedSaved.add(`s-${tag}`);
        else if (a.status !== 0) w.refused += 1;
        else await sleep(20);
      }
      if (w.attempts % 8 === 0) await new Promise((r) => setImmediate(r));
    }
  });
  w.stop = async () => {
    running = false;
    await Promise.all(loops);
  };
  return w;
}

/** Acknowledged writes missing from the daemon now (null: the daemon did not answer). */
export async function audit(socket: string, w: Writers): Promise<string[] | null> {
  // What was acknowledged before the audit asks; later acks may race the reads.
  const ackedSaved = [...w.ackedSaved];
  const ackedWorkspaces = [...w.ackedWorkspaces];
  const saved = await call(socket, 'GET', '/v1/saved-pipelines', undefined, 15_000);
  const spaces = await call(socket, 'GET', '/v1/workspaces', undefined, 15_000);
  if (saved.status !== 200 || spaces.status !== 200) return null;
  const haveSaved = new Set((JSON.parse(saved.body) as { name: string }[]).map((s) => s.name));
  const haveWs = new Set((JSON.parse(spaces.body) as { label: string }[]).map((s) => s.label));
  const lost: string[] = [];
  for (const name of ackedSaved) if (!haveSaved.has(name)) lost.push(name);
  for (const label of ackedWorkspaces) if (!haveWs.has(label)) lost.push(label);
  return lost;
}
