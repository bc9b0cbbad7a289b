/** State → the api.ts views. Pure; the shell passes the wall clock for uptimes. */

import { nodeLogRotation } from '../manifest/pipeline.js';
import { defaultPolicy, type Policy } from '../policy/index.js';
import type {
  CommandView,
  HealthView,
  PipelineView,
  QuotaView,
  SavedPipelineView,
  StatsView,
  WorkspaceView,
} from './api.js';
import { commandState } from './command.js';
import { commandPid, commandsOf, livePids, pipelinesOf } from './live.js';
import type { CommandRec, EngineState, PipelineRec, SavedRec, WorkspaceRec } from './model.js';
import { pipelineState } from './pipeline.js';

export function workspaceView(state: EngineState, ws: WorkspaceRec, wallMs: number): WorkspaceView {
  let commandsAlive = 0;
  let commandsTotal = 0;
  for (const id of ws.commandIds) {
    const cmd = state.commands.get(id);
    if (cmd === undefined) continue;
    commandsTotal += 1;
    if (commandPid(cmd) !== null) commandsAlive += 1;
  }
  let pipelines = 0;
  for (const p of state.pipelines.values())
    if (p.wsId === ws.id && p.finishedSeq === 0) pipelines++;
  return {
    id: ws.id,
    label: ws.spec.label,
    state: ws.phase.kind,
    createdAtWallMs: ws.createdAtWallMs,
    uptimeMs: Math.max(0, wallMs - ws.createdAtWallMs),
    commandsAlive,
    commandsTotal,
    pipelines,
    warnings: [...ws.warnings],
    spec: ws.spec,
  };
}

export function commandView(cmd: CommandRec): CommandView {
  const pid = commandPid(cmd);
  return {
    id: cmd.id,
    label: cmd.label,
    workspaceId: cmd.wsId,
    pid,
    alive: pid !== null,
    state: commandState(cmd.phase),
    exit: cmd.exit,
    restarts: cmd.restarts,
    backoffMs: cmd.phase.kind === 'backoff' ? cmd.phase.delayMs : cmd.tally.backoffMs,
    startedAtWallMs: cmd.startedAtWallMs,
    spec: cmd.spec,
  };
}

export function pipelineView(p: PipelineRec): PipelineView {
  return {
    id: p.id,
    label: p.label,
    workspaceId: p.wsId,
    state: pipelineState(p.phase),
    supervised: p.spec.restart.restartOnFailure,
    restarts: p.restarts,
    backoffMs: p.phase.kind === 'backoff' ? p.phase.delayMs : p.tally.backoffMs,
    nodes: p.nodes.map((n, i) => {
      const logs = nodeLogRotation(p.spec, i);
      return logs ? { ...n, logs } : { ...n };
    }),
    taps: p.taps.map((t) => ({ edgeIndex: t.edgeIndex, socketPath: t.socketPath })),
    verdicts: p.verdicts.map((v) => ({ ...v })),
  };
}

export function savedView(s: SavedRec): SavedPipelineView {
  return { name: s.name, source: s.source, savedAtWallMs: s.savedAtWallMs };
}

/** Usage is the last sample while something is alive; nothing alive uses nothing. */
function currentUsage(state: EngineState, ws: WorkspaceRec): { memBytes: number; nproc: number } {
  if (!ws.usage || livePids(state, ws.id).length === 0) return { memBytes: 0, nproc: 0 };
  return { memBytes: ws.usage.memBytes, nproc: ws.usage.nprocAlive };
}

export function quotaView(
  state: EngineState,
  ws: WorkspaceRec,
  policy: Policy = defaultPolicy,
): QuotaView {
  const { memBytes, nproc } = currentUsage(state, ws);
  const limits = { memBytes: ws.spec.rlimits.memBytes, nproc: ws.spec.rlimits.nproc };
  const usage = { memBytes, nprocAlive: nproc };
  const verdict = policy.evaluateQuota(limits, usage, ws.spec.quotaEnforce);
  return {
    workspaceId: ws.id,
    limits: { ...limits, nofile: ws.spec.rlimits.nofile },
    usage,
    breaches: verdict.breaches,
    enforce: { mem: ws.spec.quotaEnforce.mem, nproc: ws.spec.quotaEnforce.nproc },
    source: ws.envelope.cgroup ? 'cgroup' : 'proc',
  };
}

export function statsView(state: EngineState, ws: WorkspaceRec, wallMs: number): StatsView {
  const commands = commandsOf(state, ws.id);
  const nodes = pipelinesOf(state, ws.id).flatMap((p) => p.nodes);
  const alive = livePids(state, ws.id).length;
  const { memBytes } = currentUsage(state, ws);
  const last = ws.history[ws.history.length - 1];
  const live = ws.usage !== null && alive > 0;
  return {
    workspaceId: ws.id,
    commandsAlive: alive,
    commandsTotal: commands.length + nodes.length,
    rssBytes: memBytes,
    rssPeakBytes: ws.rssPeakBytes,
    cpuUs: ws.usage?.cpuUs ?? last?.cpuUs ?? 0,
    cpuPercent: live ? (last?.cpuPermille ?? 0) / 10 : 0,
    cores: state.options.cores,
    uptimeMs: Math.max(0, wallMs - ws.createdAtWallMs),
    source: ws.usage ? ws.usage.source : ws.historySource,
    history: ws.history.map((s) => ({ ...s })),
  };
}

export function healthView(state: EngineState): HealthView {
  const commandsAlive = [...state.commands.values()].filter((c) => commandPid(c) !== null).length;
  const running = [...state.pipelines.values()].filter((p) => p.finishedSeq === 0);
  return {
    workspaces: state.workspaces.size,
    commandsAlive,
    pipelines: running.length,
    flows: running.reduce((n, p) => n + p.taps.length, 0),
  };
}
