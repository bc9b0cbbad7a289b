/**
 * Placement checker: once the daemon has created a workspace's cgroup, every process it
 * starts for that workspace is placed in it (the envelope carries the handle), so the
 * kernel's memory and pids limits and the cgroup's accounting cover it. Relaunches after
 * a restore included.
 */

import type { CheckContext, Checker } from './types.js';

export class PlacementChecker implements Checker {
  readonly name = 'placement' as const;

  check(ctx: CheckContext): string | null {
    for (const s of ctx.spawns) {
      if (!s.ok) continue;
      const fact = ctx.model.keys.get(s.key);
      const ws = fact === undefined ? undefined : ctx.model.wsById.get(fact.wsId);
      if (ws === undefined || ws.spec.cgroupPath === '') continue;
      // Creates for this workspace: same path (labels, hence paths, can be reused once a
      // workspace is gone), by this daemon, after the workspace was created (by position in
      // the create log: the kernel's sequence only moves on spawns, so a reused label's old
      // create can share the new workspace's sequence number).
      const since = ws.gen === s.gen ? ws.cgroupCreatesBefore : 0;
      const created = ctx.world.cgroups.created
        .slice(since)
        .filter((c) => c.gen === s.gen && c.relPath === ws.spec.cgroupPath && c.seq < s.seq);
      const handle = created[created.length - 1]?.handle;
      if (handle === undefined) continue;
      ctx.cover('cgroup placements');
      for (const pid of s.pids) {
        const p = ctx.world.kernel.procs.get(pid);
        if (p !== undefined && p.cgroup !== handle) {
          return (
            `pid ${pid} (${p.exec}, ${fact!.kind} ${s.key}) of workspace ${ws.id} started at ` +
            `t=${s.atMs} outside its cgroup ${handle} (placed in ${p.cgroup ?? 'none'})`
          );
        }
      }
    }
    return null;
  }
}
