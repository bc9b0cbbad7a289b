/**
 * The engine's views, read once per check: every checker of one step sees the same lists,
 * and the engine renders them once instead of once per checker and per process.
 */

import type { CommandView, PipelineView, WorkspaceView } from '../../core/engine/api.js';
import type { WorkerView } from '../../core/engine/worker-api.js';
import type { CheckContext } from './types.js';

export class Views {
  private workspaceList: WorkspaceView[] | null = null;
  private commandLists: Map<string, CommandView[]> | null = null;
  private pipelineMap: Map<string, PipelineView | null> | null = null;
  private workerList: WorkerView[] | null = null;
  private workspaceMap: Map<string, WorkspaceView | null> | null = null;

  constructor(private readonly ctx: CheckContext) {}

  workspaces(): WorkspaceView[] {
    this.workspaceList ??= this.ctx.sup.listWorkspaces();
    return this.workspaceList;
  }

  /** One workspace (by id or label) as `getWorkspace` shows it, or null when it is unknown. */
  workspace(ref: string): WorkspaceView | null {
    this.workspaceMap ??= new Map();
    let view = this.workspaceMap.get(ref);
    if (view === undefined) {
      const result = this.ctx.sup.getWorkspace(ref);
      view = result.ok ? result.value : null;
      this.workspaceMap.set(ref, view);
    }
    return view;
  }

  /** The commands of a workspace (by id), or none when the engine does not know it. */
  commands(wsId: string): CommandView[] {
    this.commandLists ??= new Map();
    let list = this.commandLists.get(wsId);
    if (list === undefined) {
      const result = this.ctx.sup.listCommands(wsId);
      list = result.ok ? result.value : [];
      this.commandLists.set(wsId, list);
    }
    return list;
  }

  /** The workers the engine lists (none when it has no worker API). */
  workers(): WorkerView[] {
    this.workerList ??= this.ctx.sup.listWorkers?.() ?? [];
    return this.workerList;
  }

  /** One pipeline by id, as `getPipeline` shows it (not the whole list: most are not asked). */
  pipeline(id: string): PipelineView | undefined {
    this.pipelineMap ??= new Map();
    let view = this.pipelineMap.get(id);
    if (view === undefined) {
      const result = this.ctx.sup.getPipeline(id);
      view = result.ok && result.value.id === id ? result.value : null;
      this.pipelineMap.set(id, view);
    }
    return view ?? undefined;
  }
}

/** The views of the latest context: the checkers of one step ask in turn, with one context. */
let latest: { ctx: CheckContext; views: Views } | null = null;

export function viewsOf(ctx: CheckContext): Views {
  if (latest?.ctx !== ctx) latest = { ctx, views: new Views(ctx) };
  return latest.views;
}

/**
 * What the process-ownership invariants depend on: the daemon generation, the kernel's
 * records and live set, and the engine's event log. A checker of state (not of time) whose
 * inputs are where they were at its last check has nothing new to look at. (Numbers kept,
 * not a signature string: it is asked after every step.)
 */
export class StateMark {
  private gen = -1;
  private seq = -1;
  private live = -1;
  private events = -1;

  /** Whether the state moved since the last call; remembers where it is now. */
  moved(ctx: CheckContext): boolean {
    const kernel = ctx.world.kernel;
    const events = ctx.world.eventLog.events.length;
    const same =
      this.gen === ctx.gen &&
      this.seq === kernel.seq &&
      this.live === kernel.live.size &&
      this.events === events;
    if (same) return false;
    this.gen = ctx.gen;
    this.seq = kernel.seq;
    this.live = kernel.live.size;
    this.events = events;
    return true;
  }
}
