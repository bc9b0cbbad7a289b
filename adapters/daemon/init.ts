/**
 * shipote as the init of a container (`shipote daemon --init`, implied by `--apply FILE`):
 * - reaps every orphan that is reparented to it (it is pid 1, or a child subreaper when it
 *   is not), on each SIGCHLD, with the small reaper module (native/src/reaper.cc);
 * - turns SIGTERM/SIGINT into a graceful stop of every workspace (SIGTERM, then SIGKILL
 *   past the grace) and exits 0 when that stop was clean (nothing needed SIGKILL), 1 if not.
 */

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Supervisor } from '../../core/engine/api.js';

interface ReaperAddon {
  reapOrphans(): number[];
  setChildSubreaper(): number;
}

const CANDIDATES = [
  '../../native/build/Release/shipote_reaper.node',
  '../../../native/build/Release/shipote_reaper.node',
];

export function loadReaper(): ReaperAddon {
  const here = dirname(fileURLToPath(import.meta.url));
  const found = CANDIDATES.map((c) => join(here, c)).find((p) => existsSync(p));
  if (!found) {
    throw new Error('shipote_reaper.node not built: run `npm run install` (node-gyp)');
  }
  return createRequire(import.meta.url)(found) as ReaperAddon;
}

export interface Reaping {
  /** Pids reaped so far (orphans only; supervised children are waited on by the addon). */
  readonly reapedTotal: number;
  /** Reap what is waiting now. */
  reapNow(): number[];
  stop(): void;
}

export function startReaping(log: (line: string) => void): Reaping {
  const reaper = loadReaper();
  if (process.pid !== 1) {
    const errno = reaper.setChildSubreaper();
    if (errno !== 0) log(`init: prctl(PR_SET_CHILD_SUBREAPER) failed: errno ${errno}`);
  }
  let reapedTotal = 0;
  const reapNow = () => {
    const pids = reaper.reapOrphans();
    reapedTotal += pids.length;
    return pids;
  };
  const onChild = () => void reapNow();
  process.on('SIGCHLD', onChild);
  reapNow();
  return {
    get reapedTotal() {
      return reapedTotal;
    },
    reapNow,
    stop: () => process.off('SIGCHLD', onChild),
  };
}

export interface StopOutcome {
  clean: boolean;
  /** `ws/label` of each process that had to be killed (SIGKILL) past the grace. */
  killed: string[];
  reaped: number;
}

/** `ws/label` of every live command and pipeline node, by command id. */
function aliveNames(sup: Supervisor): Map<string, string> {
  const names = new Map<string, string>();
  for (const w of sup.listWorkspaces()) {
    const cmds = sup.listCommands(w.id);
    if (cmds.ok) for (const c of cmds.value) if (c.alive) names.set(c.id, `${w.label}/${c.label}`);
  }
  for (const p of sup.listPipelines()) {
    for (const n of p.nodes) if (n.alive) names.set(n.commandId, `${p.label}/${n.label}`);
  }
  return names;
}

/**
 * Stops every workspace (and pipeline) within `graceMs`; clean when none of the processes
 * alive at the start needed SIGKILL (read from the `exit` lifecycle events of the stop).
 */
export async function stopEverything(sup: Supervisor, graceMs: number): Promise<StopOutcome> {
  const before = aliveNames(sup);
  const killed = new Set<string>();
  const off = sup.onEvent((e) => {
    const cmd = String(e.fields.cmd ?? '');
    if (e.ev === 'exit' && e.fields.signal === 'SIGKILL' && before.has(cmd)) {
      killed.add(before.get(cmd) ?? cmd);
    }
  });
  let reaped = 0;
  try {
    const workspaces = sup.listWorkspaces().filter((w) => w.state !== 'stopped');
    const results = await Promise.all(workspaces.map((w) => sup.stopWorkspace(w.id, graceMs)));
    const left = sup.listPipelines().filter((p) => p.nodes.some((n) => n.alive));
    const piped = await Promise.all(left.map((p) => sup.stopPipeline(p.id, graceMs)));
    for (const r of [...results, ...piped]) if (r.ok) reaped += r.value.reaped;
  } finally {
    off();
  }
  for (const [id, name] of aliveNames(sup)) if (before.has(id)) killed.add(name);
  return { clean: killed.size === 0, killed: [...killed], reaped };
}
