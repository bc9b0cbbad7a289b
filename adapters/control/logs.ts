/**
 * Log replies: the captured bytes as `application/octet-stream`; with `follow=1` the
 * reply stays open (chunked) and new bytes are written as they are captured, until the
 * command is dead for good (exited, crash-loop, gave-up) or the client goes away.
 * The end is noticed from lifecycle events, never by polling.
 */

import type { CommandView, PipelineView, Supervisor } from '../../core/engine/api.js';
import { markStreaming } from './connections.js';
import { unwrap } from './http-util.js';
import type { Ctx } from './router.js';
import type { LogWhich } from './types.js';

/** Whose logs: a command, or a pipeline node (keyed by its command id). */
export interface LogTarget {
  key: string;
  /** Dead for good: nothing more will be written. */
  finished(): boolean;
}

/** After the command ends, pipes may still hold its last bytes: drain this long. */
export const followDrainMs = 100;

export function isFinished(view: CommandView): boolean {
  if (view.alive) return false;
  return view.state === 'exited' || view.state === 'crash-loop' || view.state === 'gave-up';
}

function pipelineFinished(p: PipelineView): boolean {
  return p.state !== 'running' && p.state !== 'backoff';
}

/**
 * `cmd` is a command id or label of the workspace, or a pipeline node: its command id,
 * or `<pipeline id or label>.<node label>` (the newest pipeline with that label wins).
 */
export function resolveLogTarget(sup: Supervisor, ws: string, cmd: string): LogTarget {
  const direct = sup.getCommand(ws, cmd);
  if (direct.ok) {
    const { workspaceId, id } = direct.value;
    return {
      key: id,
      finished: () => {
        const now = sup.getCommand(workspaceId, id);
        return !now.ok || isFinished(now.value);
      },
    };
  }
  const wsView = unwrap(sup.getWorkspace(ws));
  for (const p of [...sup.listPipelines()].reverse()) {
    if (p.workspaceId !== wsView.id) continue;
    const index = p.nodes.findIndex(
      (n) => n.commandId === cmd || `${p.id}.${n.label}` === cmd || `${p.label}.${n.label}` === cmd,
    );
    if (index < 0) continue;
    const pipelineId = p.id;
    return {
      // The Linux adapter captures a node's unwired outputs under `<group key>/<index>`,
      // and the engine spawns a pipeline's group under the pipeline id.
      key: `${p.id}/${index}`,
      finished: () => {
        const now = sup.getPipeline(pipelineId);
        return !now.ok || pipelineFinished(now.value);
      },
    };
  }
  return unwrap(direct) as never;
}

export function streamLogs(
  ctx: Ctx,
  target: LogTarget,
  which: LogWhich,
  tailBytes: number | undefined,
  follow: boolean,
): void {
  const { res, deps } = ctx;
  const head = deps.logs.read(target.key, which, tailBytes);
  res.writeHead(200, { 'content-type': 'application/octet-stream' });
  if (head.length > 0) res.write(head);
  if (!follow || target.finished()) {
    res.end();
    return;
  }
  markStreaming(res);
  let ended = false;
  let drainTimer: NodeJS.Timeout | null = null;
  const unfollow = deps.logs.follow(target.key, which, (chunk) => {
    if (!ended) res.write(chunk);
  });
  const finish = (): void => {
    if (ended) return;
    ended = true;
    unfollow();
    offEvent();
    if (drainTimer) clearTimeout(drainTimer);
    res.end();
  };
  const offEvent = deps.supervisor.onEvent(() => {
    if (drainTimer === null && target.finished()) drainTimer = setTimeout(finish, followDrainMs);
  });
  res.on('close', finish);
}
