/**
 * shipote as the init of a container (`shipote daemon --init`, implied by `--apply FILE`):
 * - reaps every orphan that is reparented to it (it is pid 1, or a child subreaper when it
 *   is not): the Linux kernel adapter's SIGCHLD watcher does it for every daemon, peeking
 *   first so the exits of supervised children stay with their pidfds;
 * - turns SIGTERM/SIGINT into a graceful stop of every workspace (SIGTERM, then SIGKILL
 *   past the grace) and exits 0 when that stop was clean (nothing needed SIGKILL), 1 if not.
 */

import type { Supervisor } from '../../core/engine/api.js';

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
