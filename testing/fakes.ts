/**
 * Small in-memory ports for the engine's own tests: the simulator's clock, a kernel whose
 * processes live until told to exit (or signalled), cgroups with settable caps and stats,
 * a store that can be told to fail. Pure: no real time, no real processes.
 */

import type { Supervisor } from '../core/engine/api.js';
import { createSupervisor } from '../core/engine/supervisor.js';
import { pipelinePolicies, workspaceSpec } from '../core/manifest/defaults.js';
import type { CommandSpec, PipelineSpec, WorkspaceSpec } from '../core/manifest/types.js';
import type {
  CgroupCaps,
  CgroupStats,
  EventLog,
  GroupRequest,
  Ids,
  Kernel,
  KernelEvent,
  LifecycleEvent,
  PortError,
  PortResult,
  Ports,
  ProcRequest,
  ProcStats,
  SignalName,
  Store,
  StoreRead,
} from '../core/ports.js';
import { SimClock } from '../sim/clock.js';

export const WALL_EPOCH_MS = 1_700_000_000_000;

/**
 * The simulator's clock (one in-memory clock for every test) under the names the engine's
 * tests use: `now` reads (and, before anything is armed, moves) virtual time.
 */
export class FakeClock extends SimClock {
  constructor() {
    super(10, WALL_EPOCH_MS);
  }
  get now(): number {
    return this.nowMs();
  }
  /** Move time to `ms`, firing what is due on the way (a daemon that restarts later). */
  set now(ms: number) {
    this.advanceTo(ms);
  }
  pending(): number {
    return this.pendingTimers();
  }
}

export function portError(port: PortError['port'], method: string, message: string): PortError {
  return {
    _tag: 'PortError',
    port,
    method,
    reason: 'NotFound',
    message,
    errno: 2,
    syscall: 'execve',
  };
}

export class FakeKernel implements Kernel {
  private nextPid = 100;
  private listener: ((e: KernelEvent) => void) | null = null;
  readonly alive = new Map<number, { key: string; exec: string }>();
  readonly spawns: { key: string; req: ProcRequest }[] = [];
  readonly groups: { key: string; req: GroupRequest }[] = [];
  readonly signals: { pid: number; signal: SignalName }[] = [];
  readonly released: string[] = [];
  /** Execs that do not exist. */
  readonly missing = new Set<string>(['/nope']);
  /** Pids that ignore SIGTERM. */
  readonly ignoreTerm = new Set<number>();
  stats: ProcStats = { alive: 0, rssBytes: 0, cpuUs: 0 };

  spawn(key: string, req: ProcRequest): PortResult<{ pid: number }> {
    if (this.missing.has(req.exec)) {
      return {
        ok: false,
        error: portError('Kernel', 'spawn', `exec ${req.exec}: No such file or directory`),
      };
    }
    const pid = this.nextPid++;
    this.alive.set(pid, { key, exec: req.exec });
    this.spawns.push({ key, req });
    return { ok: true, value: { pid } };
  }
  spawnGroup(key: string, req: GroupRequest): PortResult<{ pids: number[]; taps: never[] }> {
    const bad = req.nodes.find((n) => this.missing.has(n.exec));
    if (bad)
      return { ok: false, error: portError('Kernel', 'spawnGroup', `exec ${bad.exec}: ENOENT`) };
    const pids = req.nodes.map((n) => {
      const pid = this.nextPid++;
      this.alive.set(pid, { key, exec: n.exec });
      return pid;
    });
    this.groups.push({ key, req });
    return { ok: true, value: { pids, taps: [] } };
  }
  signal(pid: number, signal: SignalName): void {
    this.signals.push({ pid, signal });
    if (!this.alive.has(pid)) return;
    if (signal === 'SIGTERM' && this.ignoreTerm.has(pid)) return;
    this.exit(pid, null, signal);
  }
  sample(pids: number[]): ProcStats {
    return pids.length === 0 ? { alive: 0, rssBytes: 0, cpuUs: 0 } : this.stats;
  }
  release(key: string): void {
    this.released.push(key);
  }
  onEvent(listener: (event: KernelEvent) => void): void {
    this.listener = listener;
  }
  /** The process ends (test-driven). */
  exit(pid: number, code: number | null, signal: string | null = null): void {
    if (!this.alive.delete(pid)) throw new Error(`fake kernel: pid ${pid} is not alive`);
    this.listener?.({ type: 'exit', pid, code, signal });
  }
  emit(event: KernelEvent): void {
    this.listener?.(event);
  }
  pidsOf(key: string): number[] {
    return [...this.alive.entries()].filter(([, p]) => p.key === key).map(([pid]) => pid);
  }
}

export function caps(delegated: boolean, userNamespaces = true): CgroupCaps {
  return {
    version: delegated ? 'v2' : 'none',
    delegated,
    controllers: delegated ? ['memory', 'pids'] : [],
    writable: delegated,
    userNamespaces,
    pidfd: true,
    cloneIntoCgroup: delegated,
    root: delegated ? '/sys/fs/cgroup/test' : null,
    reasons: delegated ? [] : ['no delegation in the fake'],
  };
}

export class FakeCgroups {
  current: CgroupCaps = caps(false);
  readonly created: string[] = [];
  readonly removed: string[] = [];
  readonly killed: string[] = [];
  stat: CgroupStats = { memBytes: 0, memPeakBytes: 0, cpuUs: 0, pids: 0, oomKills: 0 };
  constructor(private readonly kernel: FakeKernel) {}
  caps(): CgroupCaps {
    return this.current;
  }
  create(relPath: string): PortResult<{ handle: string }> {
    this.created.push(relPath);
    return { ok: true, value: { handle: `cg:${relPath}` } };
  }
  stats(): PortResult<CgroupStats> {
    return { ok: true, value: this.stat };
  }
  kill(handle: string): PortResult<{ killed: number }> {
    this.killed.push(handle);
    return { ok: true, value: { killed: 0 } };
  }
  remove(handle: string): PortResult<true> {
    this.removed.push(handle);
    return { ok: true, value: true };
  }
  get kernelRef(): FakeKernel {
    return this.kernel;
  }
}

export class FakeStore implements Store {
  text: string | null = null;
  writes = 0;
  failWrites = false;
  asideCount = 0;
  read(): StoreRead {
    return this.text === null ? { kind: 'empty' } : { kind: 'text', text: this.text };
  }
  write(text: string): PortResult<true> {
    if (this.failWrites)
      return {
        ok: false,
        error: { ...portError('Store', 'write', 'disk full'), reason: 'LimitExceeded' },
      };
    this.text = text;
    this.writes += 1;
    return { ok: true, value: true };
  }
  setAside(): PortResult<{ path: string }> {
    this.asideCount += 1;
    this.text = null;
    return { ok: true, value: { path: `/state/state.json.aside-${this.asideCount}` } };
  }
}

export class FakeEventLog implements EventLog {
  readonly events: LifecycleEvent[] = [];
  append(event: LifecycleEvent): void {
    this.events.push(event);
  }
  named(ev: string): LifecycleEvent[] {
    return this.events.filter((e) => e.ev === ev);
  }
}

export class FakeIds implements Ids {
  private n = 0;
  next(): string {
    this.n += 1;
    return `01JTEST${String(this.n).padStart(19, '0')}`;
  }
}

export interface Fakes {
  clock: FakeClock;
  kernel: FakeKernel;
  cgroups: FakeCgroups;
  store: FakeStore;
  eventLog: FakeEventLog;
  ids: FakeIds;
  ports: Ports;
}

export function fakes(store: FakeStore = new FakeStore()): Fakes {
  const clock = new FakeClock();
  const kernel = new FakeKernel();
  const cgroups = new FakeCgroups(kernel);
  const eventLog = new FakeEventLog();
  const ids = new FakeIds();
  return {
    clock,
    kernel,
    cgroups,
    store,
    eventLog,
    ids,
    ports: { clock, kernel, cgroups, store, eventLog, ids },
  };
}

// ── spec builders and a started supervisor, for tests ──

export function wsSpec(over: Partial<WorkspaceSpec> = {}): WorkspaceSpec {
  return workspaceSpec({ label: 'w', ...over });
}

export function cmdSpec(over: Partial<CommandSpec> = {}): CommandSpec {
  return {
    exec: '/bin/sleep',
    argv: ['100'],
    envp: [],
    label: '',
    cwd: '',
    restartOnFailure: false,
    ready: 'exec',
    watchdogMs: 0,
    ...over,
  };
}

export function pipeSpec(over: Partial<PipelineSpec> = {}): PipelineSpec {
  const policies = pipelinePolicies();
  return {
    label: 'p',
    workspace: 'w',
    discern: { ...policies.discern, enrichProducer: true },
    nodes: [
      { label: 'producer', payload: { exec: '/bin/echo', argv: ['{"a":1}'], envp: [] } },
      { label: 'consumer', payload: { exec: '/bin/cat', argv: [], envp: [] } },
    ],
    edges: [{ from: 0, fromOutput: 'stdout', to: 1, toInput: 'stdin' }],
    restart: policies.restart,
    crashLoop: policies.crashLoop,
    ...over,
  };
}

export function setup(
  store?: FakeStore,
  before?: (f: Fakes) => void,
): { f: Fakes; sup: Supervisor } {
  const f = fakes(store);
  before?.(f);
  const sup = createSupervisor(f.ports, { sampleEveryMs: 1000, saveDelayMs: 200 });
  sup.start();
  return { f, sup };
}

export function ok<T>(r: { ok: true; value: T } | { ok: false; error: { message: string } }): T {
  if (!r.ok) throw new Error(`expected ok, got ${r.error.message}`);
  return r.value;
}
