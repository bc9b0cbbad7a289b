/**
 * Log replies: the captured bytes as `application/octet-stream`, read from the disk store
 * (so a stopped command, a stopped workspace and an earlier daemon's logs are there too);
 * with `follow=1` the reply stays open and goes on from where it is when the store
 * nudges, until every target is dead for good or the client goes away. A client that does
 * not read is paused by backpressure (`res.write()` false → wait for 'drain'): the reader
 * keeps its offset on disk, so nothing queues in the daemon.
 * The end is noticed from lifecycle events, never by polling. A workspace's merged follow
 * also takes in commands and pipeline nodes started after it began: the engine's `run` and
 * `pipeline-run` events make it list the workspace again (no disk scan), and each new one is
 * merged from its first line; it goes on while the workspace runs.
 */

import type { ServerResponse } from 'node:http';
import type { CommandView, PipelineView, Supervisor } from '../../core/engine/api.js';
import { markStreaming } from './connections.js';
import { notFound, unwrap } from './http-util.js';
import type { Ctx } from './router.js';
import type { KnownLog, LogQuery, LogWhich } from './types.js';

/** Whose logs: a command, or a pipeline node (keyed by its command id). */
export interface LogTarget {
  key: string;
  /** The prefix of its lines in a workspace's merged logs. */
  label?: string;
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

function commandTarget(sup: Supervisor, view: CommandView, label?: string): LogTarget {
  const { workspaceId, id } = view;
  return {
    key: id,
    ...(label === undefined ? {} : { label }),
    finished: () => {
      const now = sup.getCommand(workspaceId, id);
      return !now.ok || isFinished(now.value);
    },
  };
}

function nodeTarget(sup: Supervisor, p: PipelineView, index: number, label?: string): LogTarget {
  const pipelineId = p.id;
  return {
    // The Linux adapter captures a node's unwired outputs under `<group key>/<index>`,
    // and the engine spawns a pipeline's group under the pipeline id.
    key: `${p.id}/${index}`,
    ...(label === undefined ? {} : { label }),
    finished: () => {
      const now = sup.getPipeline(pipelineId);
      return !now.ok || pipelineFinished(now.value);
    },
  };
}

const gone = (): boolean => true;

/** The newest log on disk of workspace `ws` (id or label) whose key or label is `cmd`. */
function knownTarget(known: KnownLog[], ws: string, cmd: string): LogTarget | null {
  const hits = known
    .filter((k) => (k.ws === ws || k.wsLabel === ws) && (k.key === cmd || k.label === cmd))
    .sort((a, b) => b.startedWallMs - a.startedWallMs);
  return hits[0] ? { key: hits[0].key, finished: gone } : null;
}

/**
 * `cmd` is a command id or label of the workspace, or a pipeline node: its command id,
 * or `<pipeline id or label>.<node label>` (the newest pipeline with that label wins).
 * Logs the supervisor has forgotten are found on disk (`known`).
 */
export function resolveLogTarget(
  sup: Supervisor,
  ws: string,
  cmd: string,
  known: () => KnownLog[] = () => [],
): LogTarget {
  const direct = sup.getCommand(ws, cmd);
  if (direct.ok) return commandTarget(sup, direct.value);
  const wsView = sup.getWorkspace(ws);
  if (wsView.ok) {
    for (const p of [...sup.listPipelines()].reverse()) {
      if (p.workspaceId !== wsView.value.id) continue;
      const index = p.nodes.findIndex(
        (n) =>
          n.commandId === cmd || `${p.id}.${n.label}` === cmd || `${p.label}.${n.label}` === cmd,
      );
      if (index >= 0) return nodeTarget(sup, p, index);
    }
  }
  const onDisk = knownTarget(known(), ws, cmd);
  if (onDisk) return onDisk;
  return unwrap(direct) as never;
}

/** Every command and pipeline node the supervisor knows in workspace `wsId`, labelled. */
function supervisedTargets(sup: Supervisor, wsId: string): LogTarget[] {
  const targets: LogTarget[] = [];
  const cmds = sup.listCommands(wsId);
  for (const c of cmds.ok ? cmds.value : []) targets.push(commandTarget(sup, c, c.label));
  for (const p of sup.listPipelines()) {
    if (p.workspaceId !== wsId) continue;
    p.nodes.forEach((n, i) => {
      targets.push(nodeTarget(sup, p, i, `${p.label}.${n.label}`));
    });
  }
  return targets;
}

/** A workspace's merged logs: what it has now, and for `-f` how to find what starts later. */
export interface WorkspaceLogs {
  /** The workspace's id, when the supervisor knows it (engine events name it as `ws`). */
  wsId: string | null;
  targets: LogTarget[];
  /** Every target the supervisor knows now (new ones are added by key). */
  current(): LogTarget[];
  /** The workspace runs: commands may still start in it. */
  open(): boolean;
}

/**
 * Every command and pipeline node of a workspace, labelled, plus what only the disk knows.
 * A running workspace with no logs yet is not an error when `follow`: its first command's
 * lines are awaited.
 */
export function resolveWorkspaceLogs(
  sup: Supervisor,
  ws: string,
  known: () => KnownLog[] = () => [],
  follow = false,
): WorkspaceLogs {
  const wsView = sup.getWorkspace(ws);
  const onDisk = known().filter((k) => k.ws === ws || k.wsLabel === ws);
  if (!wsView.ok && onDisk.length === 0) return unwrap(wsView) as never;
  const wsId = wsView.ok ? wsView.value.id : null;
  const targets = wsId === null ? [] : supervisedTargets(sup, wsId);
  const seen = new Set(targets.map((t) => t.key));
  for (const k of onDisk) {
    if (!seen.has(k.key)) targets.push({ key: k.key, label: k.label, finished: gone });
    seen.add(k.key);
  }
  const open = (): boolean => {
    const now = wsId === null ? null : sup.getWorkspace(wsId);
    return now?.ok === true && now.value.state === 'running';
  };
  if (targets.length === 0 && !(follow && open())) {
    throw notFound(`workspace "${ws}" has no logs`);
  }
  const current = (): LogTarget[] => (wsId === null ? [] : supervisedTargets(sup, wsId));
  return { wsId, targets, current, open };
}

/** Resolves once `res` can take more (or is gone). */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

const keysOf = (targets: LogTarget[]) =>
  targets.map(({ key, label }) => (label === undefined ? { key } : { key, label }));

/**
 * How a follow of a workspace's merged logs takes in commands and pipelines started after it
 * began: `current()` is asked again when the engine reports a start (`run`,
 * `pipeline-run`), and the follow goes on while `open()` (the workspace runs).
 */
export interface FollowGrowth {
  /** Only starts in this workspace count (every start when null). */
  wsId: string | null;
  current(): LogTarget[];
  open(): boolean;
}

export async function streamLogs(
  ctx: Ctx,
  targets: LogTarget[],
  which: LogWhich,
  query: LogQuery,
  follow: boolean,
  growth?: FollowGrowth,
): Promise<void> {
  const { res, deps } = ctx;
  const reader = deps.logs.open(keysOf(targets), which, query);
  res.writeHead(200, { 'content-type': 'application/octet-stream' });
  let closed = false;
  res.on('close', () => {
    closed = true;
  });
  const pump = async (): Promise<void> => {
    for (let b = reader.next(); b && !closed; b = reader.next()) {
      if (!res.write(b)) await drained(res);
    }
  };
  await pump();
  const grows = growth !== undefined && reader.add !== undefined;
  const allFinished = (): boolean =>
    targets.every((t) => t.finished()) && !(grows && growth.open());
  if (!follow || closed || reader.done() || allFinished()) {
    res.end();
    return;
  }
  markStreaming(res);
  const loop: FollowLoop = { targets, pump, allFinished, closed: () => closed };
  if (grows) loop.grow = { growth, add: (more) => reader.add?.(keysOf(more)) };
  await followLoop(ctx, loop);
  res.end();
}

interface FollowLoop {
  targets: LogTarget[];
  pump: () => Promise<void>;
  allFinished: () => boolean;
  closed: () => boolean;
  grow?: { growth: FollowGrowth; add(targets: LogTarget[]): void };
}

/** Targets of `current()` not followed yet: subscribed, then added to the reader. */
function takeNew(ctx: Ctx, loop: FollowLoop, nudge: () => void, offs: (() => void)[]): void {
  if (!loop.grow) return;
  const have = new Set(loop.targets.map((t) => t.key));
  const fresh = loop.grow.growth.current().filter((t) => !have.has(t.key));
  if (fresh.length === 0) return;
  for (const t of fresh) offs.push(ctx.deps.logs.follow(t.key, nudge));
  loop.targets.push(...fresh);
  loop.grow.add(fresh);
}

async function followLoop(ctx: Ctx, loop: FollowLoop): Promise<void> {
  const { pump, allFinished, closed } = loop;
  let dirty = false;
  // A command or pipeline started (the engine's event): look for new targets. Also once at
  // the start, for what started between resolving the targets and subscribing here.
  let started = loop.grow !== undefined;
  let wake: (() => void) | null = null;
  const nudge = (): void => {
    dirty = true;
    wake?.();
  };
  const offs = loop.targets.map((t) => ctx.deps.logs.follow(t.key, nudge));
  const wsId = loop.grow?.growth.wsId ?? null;
  const offEvent = ctx.deps.supervisor.onEvent((event) => {
    const start = event.ev === 'run' || event.ev === 'pipeline-run';
    if (start && loop.grow && (wsId === null || event.fields.ws === wsId)) started = true;
    nudge();
  });
  ctx.res.on('close', nudge);
  try {
    let finishedAtMs = -1;
    while (!closed()) {
      if (started) {
        started = false;
        takeNew(ctx, loop, nudge, offs);
        dirty = true; // read what the new ones wrote already
        finishedAtMs = -1;
      }
      if (!dirty) {
        const timer =
          finishedAtMs >= 0 ? setTimeout(nudge, Math.max(0, finishedAtMs - Date.now())) : null;
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = null;
        if (timer) clearTimeout(timer);
      }
      dirty = false;
      await pump();
      if (started) continue;
      if (finishedAtMs < 0 && allFinished()) finishedAtMs = Date.now() + followDrainMs;
      if (finishedAtMs >= 0 && Date.now() >= finishedAtMs) {
        await pump();
        return;
      }
    }
  } finally {
    for (const off of offs) off();
    offEvent();
    ctx.res.off('close', nudge);
  }
}
