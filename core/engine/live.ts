/** Queries over the state: which processes are alive where. Pure, no Draft. */

import type { CommandPhase, CommandRec, EngineState, PipelineRec } from './model.js';

/** The pid of a command's live incarnation, if it has one. */
export function phasePid(phase: CommandPhase): number | null {
  switch (phase.kind) {
    case 'starting':
    case 'running':
    case 'stopping':
      return phase.pid;
    default:
      return null;
  }
}

export const commandPid = (cmd: CommandRec): number | null => phasePid(cmd.phase);

export function commandsOf(state: EngineState, wsId: string): CommandRec[] {
  const ws = state.workspaces.get(wsId);
  if (!ws) return [];
  const out: CommandRec[] = [];
  for (const id of ws.commandIds) {
    const cmd = state.commands.get(id);
    if (cmd) out.push(cmd);
  }
  return out;
}

export function pipelinesOf(state: EngineState, wsId: string): PipelineRec[] {
  const out: PipelineRec[] = [];
  for (const p of state.pipelines.values()) if (p.wsId === wsId) out.push(p);
  return out;
}

export function pipelinePids(p: PipelineRec): number[] {
  return p.nodes.filter((n) => n.alive && n.pid !== null).map((n) => n.pid as number);
}

/** Every live pid of a workspace: its commands and its pipelines' nodes. */
export function livePids(state: EngineState, wsId: string): number[] {
  const pids: number[] = [];
  const ws = state.workspaces.get(wsId);
  if (ws) {
    for (const id of ws.commandIds) {
      const cmd = state.commands.get(id);
      const pid = cmd ? commandPid(cmd) : null;
      if (pid !== null) pids.push(pid);
    }
  }
  for (const p of state.pipelines.values()) {
    if (p.wsId !== wsId) continue;
    for (const n of p.nodes) if (n.alive && n.pid !== null) pids.push(n.pid);
  }
  return pids;
}

/** Whether `livePids(state, wsId)` has any, without listing them (a step asks per spawn). */
export function hasLivePid(state: EngineState, wsId: string): boolean {
  const ws = state.workspaces.get(wsId);
  if (ws) {
    for (const id of ws.commandIds) {
      const cmd = state.commands.get(id);
      if (cmd && commandPid(cmd) !== null) return true;
    }
  }
  for (const p of state.pipelines.values()) {
    if (p.wsId !== wsId) continue;
    for (const n of p.nodes) if (n.alive && n.pid !== null) return true;
  }
  return false;
}

export function anythingAlive(state: EngineState): boolean {
  return state.pids.size > 0;
}

/** Is this pipeline part of the declared intent (relaunched after a daemon restart)? */
export function isLiveIntent(p: PipelineRec): boolean {
  const supervised = p.spec.restart.restartOnFailure;
  const { phase } = p;
  const restarting = phase.kind === 'stopping' && phase.after === 'respawn';
  const live = phase.kind === 'spawning' || phase.kind === 'running' || restarting;
  return supervised && (live || phase.kind === 'backoff');
}
