/**
 * Contract checker: the engine uses the ports as documented (`Kernel.release(key)` only
 * once nothing of that key is alive) and keeps its promises on memory (contract §2: records
 * of dead commands are bounded per workspace by `deadCommandsMax`; labels are unique; a
 * missing exec is an immediate error, checked where the call is made).
 */

import type { CheckContext, Checker } from './types.js';
import { StateMark, viewsOf } from './views.js';

export class ContractChecker implements Checker {
  readonly name = 'contract' as const;
  private releaseCursor = 0;
  private readonly mark = new StateMark();

  check(ctx: CheckContext): string | null {
    const releases = ctx.world.kernel.releases;
    while (this.releaseCursor < releases.length) {
      const r = releases[this.releaseCursor++]!;
      if (r.liveProcs > 0) {
        const live = `${r.liveProcs} process(es) of it are alive`;
        return `Kernel.release(${r.key}) at t=${r.atMs} while ${live}`;
      }
    }
    if (!this.mark.moved(ctx)) return null;
    return this.bounded(ctx) ?? this.uniqueLabels(ctx);
  }

  /** contract §1: a workspace is addressed by id or by its unique label. */
  private uniqueLabels(ctx: CheckContext): string | null {
    const seen = new Map<string, string>();
    for (const ws of viewsOf(ctx).workspaces()) {
      const other = seen.get(ws.label);
      if (other !== undefined)
        return `workspaces ${other} and ${ws.id} share the label "${ws.label}"`;
      seen.set(ws.label, ws.id);
    }
    return null;
  }

  private bounded(ctx: CheckContext): string | null {
    // Only while running: a stop may end commands in backoff at once, a bounded one-off excess.
    const views = viewsOf(ctx);
    const running = views.workspaces().filter((w) => w.state === 'running');
    for (const ws of running) {
      const dead = views.commands(ws.id).filter((c) => !c.alive && c.state !== 'backoff').length;
      if (dead > ctx.deadCommandsMax) {
        const bound = `bound ${ctx.deadCommandsMax}`;
        return `workspace ${ws.id} keeps ${dead} dead command records (${bound})`;
      }
    }
    return null;
  }
}
