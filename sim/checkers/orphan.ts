/**
 * Orphan checker: every live process belongs to the running daemon, and to a command or
 * pipeline node that daemon lists with that very pid. A process the daemon has lost track
 * of (spawn reported failed, record evicted, restarted twice) is an orphan. The other way
 * round, a command the daemon shows alive is alive, or its exit is still in flight: a
 * ghost whose death was reported is a bookkeeping bug. No process of a dead incarnation
 * is left once the next daemon has started, forked ones included: its start-up sweep
 * (ledger and scope markers) must have ended what the dead one's roots forked.
 */

import type { SimProc } from '../kernel.js';
import type { CheckContext, Checker } from './types.js';
import { StateMark, viewsOf } from './views.js';

/** A process as a message names it (built only for a message: the loop runs every step). */
function describe(p: SimProc): string {
  return `pid ${p.pid} (${p.exec}, key ${p.key}, daemon gen${p.gen})`;
}

export class OrphanChecker implements Checker {
  readonly name = 'orphan' as const;
  private readonly mark = new StateMark();

  check(ctx: CheckContext): string | null {
    // Ownership changes only with a spawn, a death or an engine decision (an event).
    if (!this.mark.moved(ctx)) return null;
    for (const p of ctx.world.kernel.live) {
      if (p.gen !== ctx.gen) {
        const kind = p.rootPid === p.pid ? '' : ` (forked by ${p.rootPid}, group ${p.pgid})`;
        return `${describe(p)}${kind} of a dead incarnation outlived it (now gen${ctx.gen})`;
      }
      if (p.rootPid !== p.pid) continue;
      if (!this.known(ctx, p.key, p.pid)) {
        const where = 'no command or pipeline of the daemon has it';
        return `${describe(p)} is alive at t=${ctx.nowMs} but ${where}`;
      }
    }
    return this.ghosts(ctx);
  }

  private ghosts(ctx: CheckContext): string | null {
    const views = viewsOf(ctx);
    for (const ws of views.workspaces()) {
      for (const c of views.commands(ws.id)) {
        if (!c.alive || c.pid === null) continue;
        const p = ctx.world.kernel.procs.get(c.pid);
        if (p === undefined || (!p.alive && ctx.world.kernel.reported.has(c.pid))) {
          return `command ${c.id} is shown alive with pid ${c.pid}, whose exit was reported`;
        }
      }
    }
    return null;
  }

  private known(ctx: CheckContext, key: string, pid: number): boolean {
    const views = viewsOf(ctx);
    if (key.startsWith('worker-')) {
      return views.workers().some((w) => w.running?.pid === pid || w.prepared?.pid === pid);
    }
    const fact = ctx.model.keys.get(key);
    if (fact?.kind !== 'pipeline') {
      const wsIds = fact ? [fact.wsId] : views.workspaces().map((w) => w.id);
      for (const wsId of wsIds) {
        if (views.commands(wsId).some((c) => c.id === key && c.pid === pid)) return true;
      }
    }
    if (fact?.kind !== 'command') {
      const pipeline = views.pipeline(key);
      if (pipeline?.nodes.some((n) => n.pid === pid)) return true;
    }
    return false;
  }
}
