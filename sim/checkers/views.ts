/**
 * The engine's views, read once per check: every checker of one step sees the same lists,
 * and the engine renders them once instead of once per checker and per process.
 */

import type { CommandView, PipelineView, WorkspaceView } from '../../core/engine/api.js';
import type { CheckContext } from './types.js';

export class Views {
  private workspaceList: WorkspaceView[] | null = null;
  private readonly commandLists = new Map<string, CommandView[]>();
  private pipelineMap: Map<string, PipelineView> | null = null;

  constructor(private readonly ctx: CheckContext) {}

  workspaces(): WorkspaceView[] {
    this.workspaceList ??= this.ctx.sup.listWorkspaces();
    return this.workspaceList;
  }

  /** The commands of a workspace (by id), or none when the engine does not know it. */
  commands(wsId: string): CommandView[] {
    let list = this.commandLists.get(wsId);
    if (list === undefined) {
      const result = this.ctx.sup.listCommands(wsId);
      list = result.ok ? result.value : [];
      this.commandLists.set(wsId, list);
    }
    return list;
  }

  pipeline(id: string): PipelineView | undefined {
    this.pipelineMap ??= new Map(this.ctx.sup.listPipelines().map((p) => [p.id, p]));
    return this.pipelineMap.get(id);
  }
}

const byContext = new WeakMap<CheckContext, Views>();

export function viewsOf(ctx: CheckContext): Views {
  let views = byContext.get(ctx);
  if (views === undefined) {
    views = new Views(ctx);
    byContext.set(ctx, views);
  }
  return views;
}

/**
 * What the process-ownership invariants depend on: the daemon generation, the kernel's
 * records and live set, and the engine's event log. A checker of state (not of time) whose
 * inputs carry the same signature as at its last check has nothing new to look at.
 */
export function stateSignature(ctx: CheckContext): string {
  const kernel = ctx.world.kernel;
  return `${ctx.gen}/${kernel.seq}/${kernel.live.size}/${ctx.world.eventLog.events.length}`;
}
