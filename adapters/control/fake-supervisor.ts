/**
 * An in-memory Supervisor for control and CLI unit tests: no processes, no timers.
 * Commands "run" until `finish(id, code)` is called. Only what the tests need.
 */

import type {
  ApiResult,
  CommandView,
  PipelineView,
  RestoreReport,
  SavedPipelineView,
  Supervisor,
  WorkspaceView,
} from '../../core/engine/api.js';
import type { CommandSpec, PipelineSpec, WorkspaceSpec } from '../../core/manifest/types.js';
import type { LifecycleEvent } from '../../core/ports.js';

export interface FakeSupervisor extends Supervisor {
  finish(commandId: string, code: number): void;
  emit(event: LifecycleEvent): void;
}

const notFound = (what: string): { ok: false; error: { code: 'not_found'; message: string } } => ({
  ok: false,
  error: { code: 'not_found', message: `${what} not found` },
});

class FakeState {
  seq = 0;
  readonly workspaces = new Map<string, WorkspaceView>();
  readonly commands = new Map<string, CommandView>();
  readonly pipelines = new Map<string, PipelineView>();
  readonly saved = new Map<string, SavedPipelineView>();
  readonly listeners = new Set<(e: LifecycleEvent) => void>();

  nextId(prefix: string): string {
    this.seq += 1;
    return `${prefix}${String(this.seq).padStart(4, '0')}`;
  }

  emit(event: LifecycleEvent): void {
    for (const l of this.listeners) l(event);
  }

  findWs(ref: string): WorkspaceView | undefined {
    return this.workspaces.get(ref) ?? [...this.workspaces.values()].find((w) => w.label === ref);
  }

  withWs<T>(ref: string, f: (ws: WorkspaceView) => ApiResult<T>): ApiResult<T> {
    const ws = this.findWs(ref);
    return ws ? f(ws) : notFound(`workspace "${ref}"`);
  }

  withCmd<T>(ref: string, cmd: string, f: (c: CommandView) => ApiResult<T>): ApiResult<T> {
    return this.withWs(ref, (ws) => {
      const c = [...this.commands.values()].find(
        (x) => x.workspaceId === ws.id && (x.id === cmd || x.label === cmd),
      );
      return c ? f(c) : notFound(`command "${cmd}"`);
    });
  }
}

const report: RestoreReport = {
  outcome: 'fresh',
  fromVersion: null,
  workspaces: 0,
  savedPipelines: 0,
  relaunchedPipelines: 0,
  message: 'no snapshot: starting fresh',
};

export function createFakeSupervisor(): FakeSupervisor {
  const s = new FakeState();
  return {
    start: () => report,
    flush: () => {},
    close: () => {},
    shutdown: async () => ({ ok: true, value: { reaped: 0 } }),
    onEvent(listener) {
      s.listeners.add(listener);
      return () => s.listeners.delete(listener);
    },
    emit: (event) => s.emit(event),
    finish(commandId, code) {
      const c = s.commands.get(commandId);
      if (!c) return;
      Object.assign(c, { alive: false, pid: null, state: 'exited' });
      c.exit = { code, signal: null, status: code };
      s.emit({ wallMs: 0, ev: 'exit', fields: { cmd: c.id, code } });
    },
    health: () => ({
      workspaces: s.workspaces.size,
      commandsAlive: [...s.commands.values()].filter((c) => c.alive).length,
      pipelines: s.pipelines.size,
      flows: 0,
    }),
    ...workspaceMethods(s),
    ...commandMethods(s),
    ...pipelineMethods(s),
    ...savedMethods(s),
  };
}

function createWorkspace(s: FakeState, spec: WorkspaceSpec) {
  if (s.findWs(spec.label)) {
    const message = `label "${spec.label}" already used`;
    return { ok: false as const, error: { code: 'conflict' as const, message } };
  }
  const id = s.nextId('WS');
  s.workspaces.set(id, {
    id,
    label: spec.label,
    state: 'running',
    createdAtWallMs: 0,
    uptimeMs: 1500,
    commandsAlive: 0,
    commandsTotal: 0,
    pipelines: 0,
    warnings: ['cgroup not delegated: limits are accounted, not enforced'],
    spec,
  });
  return { ok: true as const, value: { id, warnings: ['cgroup not delegated'] } };
}

function workspaceMethods(s: FakeState) {
  return {
    createWorkspace: (spec: WorkspaceSpec) => createWorkspace(s, spec),
    listWorkspaces: () => [...s.workspaces.values()],
    getWorkspace: (ref: string) => s.withWs(ref, (ws) => ({ ok: true as const, value: ws })),
    stopWorkspace: async (ref: string) =>
      s.withWs(ref, (ws) => {
        ws.state = 'stopped';
        return { ok: true as const, value: { reaped: ws.commandsAlive } };
      }),
    quota: (ref: string) =>
      s.withWs(ref, (ws) => ({
        ok: true as const,
        value: {
          workspaceId: ws.id,
          limits: ws.spec.rlimits,
          usage: { memBytes: 12 * 1024 * 1024, nprocAlive: 3 },
          breaches: ['memory: 12.00 MiB > 10.00 MiB limit', 'nproc: 3 alive > 2 limit'],
          enforce: ws.spec.quotaEnforce,
          source: 'proc' as const,
        },
      })),
    stats: (ref: string) =>
      s.withWs(ref, (ws) => ({
        ok: true as const,
        value: {
          workspaceId: ws.id,
          commandsAlive: ws.commandsAlive,
          commandsTotal: ws.commandsTotal,
          rssBytes: 3 * 1024 * 1024,
          rssPeakBytes: 4 * 1024 * 1024,
          cpuUs: 1_500_000,
          cpuPercent: 12,
          cores: 2,
          uptimeMs: ws.uptimeMs,
          source: 'proc' as const,
          history: [1, 2, 3, 4].map((n) => ({
            wallMs: n * 1000,
            rssBytes: n * 1024 * 1024,
            cpuUs: n * 1000,
            cpuPermille: n * 100,
          })),
        },
      })),
  };
}

function runCommand(s: FakeState, ws: WorkspaceView, spec: CommandSpec): ApiResult<CommandView> {
  if (spec.exec.includes('nope')) {
    const message = `exec ${spec.exec}: No such file or directory`;
    return { ok: false, error: { code: 'spawn_failed', message, errno: 2 } };
  }
  const id = s.nextId('CMD');
  const view: CommandView = {
    id,
    label: spec.label || `run-${id.slice(-6).toLowerCase()}`,
    workspaceId: ws.id,
    pid: 4000 + s.seq,
    alive: true,
    state: 'running',
    exit: null,
    restarts: 0,
    backoffMs: 200,
    startedAtWallMs: 0,
    spec,
  };
  s.commands.set(id, view);
  ws.commandsAlive += 1;
  ws.commandsTotal += 1;
  return { ok: true, value: view };
}

function commandMethods(s: FakeState) {
  return {
    runCommand: (ref: string, spec: CommandSpec) => s.withWs(ref, (ws) => runCommand(s, ws, spec)),
    listCommands: (ref: string) =>
      s.withWs(ref, (ws) => ({
        ok: true as const,
        value: [...s.commands.values()].filter((c) => c.workspaceId === ws.id),
      })),
    getCommand: (ref: string, cmd: string) =>
      s.withCmd(ref, cmd, (c) => ({ ok: true as const, value: c })),
    restartCommand: async (ref: string, cmd: string) =>
      s.withCmd(ref, cmd, (c) => {
        Object.assign(c, { alive: true, state: 'running', restarts: c.restarts + 1 });
        return { ok: true as const, value: c };
      }),
    stopCommand: async () => ({ ok: true as const, value: { reaped: 0 } }),
    removeCommand: async () => ({ ok: true as const, value: true as const }),
  };
}

function runPipeline(s: FakeState, spec: PipelineSpec, tap: boolean): ApiResult<PipelineView> {
  const ws = s.findWs(spec.workspace);
  if (!ws) return notFound(`workspace "${spec.workspace}"`);
  const id = s.nextId('PL');
  const view: PipelineView = {
    id,
    label: spec.label,
    workspaceId: ws.id,
    state: 'running',
    supervised: spec.restart.restartOnFailure,
    restarts: 0,
    backoffMs: 0,
    nodes: spec.nodes.map((n, i) => ({
      label: n.label,
      commandId: `${id}-${i}`,
      pid: 5000 + i,
      alive: true,
      exit: null,
    })),
    taps: tap ? spec.edges.map((_, i) => ({ edgeIndex: i, socketPath: `/t/${i}` })) : [],
    verdicts: tap
      ? spec.edges.map((_, i) => ({
          edgeIndex: i,
          ty: 'json',
          mime: 'application/json',
          confPermille: 950,
        }))
      : [],
  };
  s.pipelines.set(id, view);
  return { ok: true, value: view };
}

function pipelineMethods(s: FakeState) {
  return {
    runPipeline: (spec: PipelineSpec, options: { tap: boolean }) =>
      runPipeline(s, spec, options.tap),
    listPipelines: () => [...s.pipelines.values()],
    getPipeline: (id: string): ApiResult<PipelineView> => {
      const p = s.pipelines.get(id);
      return p ? { ok: true, value: p } : notFound(`pipeline "${id}"`);
    },
    restartPipeline: async (id: string): Promise<ApiResult<PipelineView>> => {
      const p = s.pipelines.get(id);
      if (!p) return { ok: false, error: { code: 'not_found', message: `no pipeline "${id}"` } };
      return { ok: true, value: p };
    },
    stopPipeline: async (id: string): Promise<ApiResult<{ reaped: number }>> => {
      const p = s.pipelines.get(id);
      if (!p) return notFound(`pipeline "${id}"`);
      p.state = 'stopped';
      return { ok: true, value: { reaped: p.nodes.length } };
    },
  };
}

function savedMethods(s: FakeState) {
  return {
    savePipeline: (name: string, source: string) => {
      const view = { name, source, savedAtWallMs: 0 };
      s.saved.set(name, view);
      return { ok: true as const, value: view };
    },
    listSavedPipelines: () => [...s.saved.values()],
    getSavedPipeline: (name: string): ApiResult<SavedPipelineView> => {
      const v = s.saved.get(name);
      return v ? { ok: true, value: v } : notFound(`saved pipeline "${name}"`);
    },
    dropSavedPipeline: (name: string): ApiResult<true> =>
      s.saved.delete(name) ? { ok: true, value: true } : notFound(`saved pipeline "${name}"`),
  };
}
