/**
 * SimKernel — scripted virtual processes behind the `Kernel` port.
 *
 * Fault model (each site switched on per seed by the swarm, see faults.ts):
 * - `spawn-fail`: fork fails with EAGAIN (PortError Busy) or exec with ENOENT (the binary
 *   vanished), synchronously, nothing left running; a whole `spawnGroup` fails
 *   atomically. Survivable: the engine reports it, or counts it as a failed start.
 * - `late-exit`: the exit notification reaches the daemon 1–500 ms after the death.
 *   Survivable: the process is dead either way; only the engine's view lags.
 * - `process-crash`: a running process dies of SIGSEGV at a random time. Survivable:
 *   supervision restarts it, or it is reported dead.
 * Not faults but scripted behaviour (script.ts): processes that ignore SIGTERM, exit
 * non-zero, grow memory, fork children, speak sd_notify or hang.
 * Semantics: `signal(pid)` reaches the process group of a root (forked children die with
 * their root, as under the engine's process-group kill); exit events are delivered only
 * for roots and never synchronously; a daemon crash kills the roots of that daemon
 * (PR_SET_PDEATHSIG) and drops its pending notifications, while what they forked lives on
 * (re-parented to init) until the next daemon's start-up sweep ends it (`sweep`, the same
 * rule as the Linux adapter's, core/policy/leftovers.ts). Each root's group is recorded in
 * the ledger as its spawn returns. A `sim:fork` root forks its children 1 ms after it
 * starts (exec takes time): child i stays
 * in its root's group and keeps the scope marker (i % 3 = 0), leaves it with setsid
 * (i % 3 = 1), or stays in the group with its environment cleared (i % 3 = 2).
 * - `ledger-crash`: the daemon dies right after a successful spawn, before the ledger
 *   records the new group. Survivable: the root dies with the daemon, nothing forked yet.
 */

import { type LeftoversRule, leftovers, type ProcEntry } from '../core/policy/leftovers.js';
import type {
  GroupRequest,
  Kernel,
  KernelEvent,
  PortError,
  PortResult,
  ProcRequest,
  ProcStats,
  SignalName,
  TapInfo,
} from '../core/ports.js';
import type { SimClock } from './clock.js';
import type { Faults } from './faults.js';
import type { SimLedger } from './ledger.js';
import { CHILD_SCRIPT, hostScript, parseScript, type Script } from './script.js';
import type { Trace } from './trace.js';

export interface SimProc {
  pid: number;
  key: string;
  /** The daemon generation that spawned it. */
  gen: number;
  rootPid: number;
  /** The parent: 0 for a root (the daemon), 1 once orphaned by a daemon crash. */
  ppid: number;
  /** Process group: its root's, or its own after setsid. */
  pgid: number;
  /** Carries the scope marker in its environment (a child may clear it). */
  marked: boolean;
  exec: string;
  script: Script;
  startMs: number;
  alive: boolean;
  diedAtMs: number | null;
  exitCode: number | null;
  exitSignal: string | null;
  cgroup: string | null;
  notify: boolean;
  children: number[];
  timers: number[];
  /** Killed by the simulated cgroup OOM killer. */
  oomKilled: boolean;
  /** Last WATCHDOG=1 sent, or null. */
  lastPingMs: number | null;
  /** When READY=1 was sent, or null. */
  readyAtMs: number | null;
  /** Prepared (`prepare`), not started: alive, set up, running nothing of its program. */
  held: boolean;
}

export interface SpawnRecord {
  atMs: number;
  gen: number;
  key: string;
  /** Empty when the spawn failed. */
  pids: number[];
  group: boolean;
  ok: boolean;
  seq: number;
  /** A worker's delivery: SHIPOTE_TASK_ID and SHIPOTE_TASK_ATTEMPT of its env. */
  task?: { id: string; attempt: number };
}

export interface ExitRecord {
  pid: number;
  key: string;
  gen: number;
  code: number | null;
  signal: string | null;
  diedAtMs: number;
  deliveredAtMs: number;
  seq: number;
}

export interface ReleaseRecord {
  atMs: number;
  gen: number;
  key: string;
  liveProcs: number;
}

/** What the kernel needs from the simulated cgroups. */
export interface CgroupGate {
  admit(handle: string, count: number): PortError | null;
  enforceMemory(): void;
}

const GROWTH_TICK_MS = 20;

export function portError(
  method: string,
  reason: PortError['reason'],
  message: string,
  extra: Partial<PortError> = {},
): PortError {
  return { _tag: 'PortError', port: 'Kernel', method, reason, message, ...extra };
}

export class SimKernel {
  readonly procs = new Map<number, SimProc>();
  readonly spawns: SpawnRecord[] = [];
  readonly exits: ExitRecord[] = [];
  readonly releases: ReleaseRecord[] = [];
  /** Pids whose exit event reached their daemon. */
  readonly reported = new Set<number>();
  /** Root processes ever started: one lifecycle each. */
  lifecycles = 0;
  /** Processes alive now (roots and children). */
  readonly live = new Set<SimProc>();
  /** Every process ever placed in a cgroup, by handle. */
  readonly byCgroup = new Map<string, SimProc[]>();
  /** Orders spawn and exit records against each other and against API calls. */
  seq = 0;
  private readonly listeners = new Map<number, ((event: KernelEvent) => void)[]>();
  /** Held processes and the request `startHeld` runs. */
  private readonly heldReqs = new Map<number, ProcRequest>();
  /** Also run host binaries (`/bin/sleep 10`, see `hostScript`): for the adapters' tests. */
  hostBinaries = false;
  private nextPid = 1000;
  private growthTimer: number | null = null;
  private cgroups: CgroupGate | null = null;
  private ledger: SimLedger | null = null;
  private crashDaemon: ((gen: number) => void) | null = null;
  private leftovers: LeftoversRule = leftovers;
  /** A daemon is starting up (restoring): the ledger-crash site is off meanwhile. */
  startingUp = false;

  constructor(
    private readonly clock: SimClock,
    private readonly faults: Faults,
    private readonly trace: Trace,
    private readonly isAlive: (gen: number) => boolean,
  ) {}

  /** Record process groups in `ledger`; `crash` kills a daemon (the ledger-crash site). */
  attachLedger(ledger: SimLedger, crash: (gen: number) => void, rule: LeftoversRule): void {
    this.ledger = ledger;
    this.crashDaemon = crash;
    this.leftovers = rule;
  }

  /**
   * A daemon starts: end what the previous one left, by the ledger it wrote and the
   * scope markers (core/policy/leftovers.ts). Returns how many processes were ended.
   */
  sweep(): number {
    if (this.ledger === null) return 0;
    const table = new Map<number, ProcEntry>();
    for (const p of this.live) {
      table.set(p.pid, {
        pid: p.pid,
        ppid: p.ppid,
        pgid: p.pgid,
        startTicks: p.startMs,
        state: 'S',
      });
    }
    const ledger = this.ledger.open();
    const scopeOf = (pid: number) => {
      const p = this.procs.get(pid);
      return p?.marked ? `${ledger.tag}:${p.key}` : null;
    };
    const victims = this.leftovers(ledger, table, 0, scopeOf);
    for (const pid of victims) this.die(this.procs.get(pid) as SimProc, null, 'SIGTERM');
    this.trace.add(() => `sweep: ${victims.length} left by a dead daemon ended`);
    return victims.length;
  }

  /**
   * A spawn succeeded: its groups go to the ledger, unless the daemon dies first
   * (`ledger-crash`; never while it is starting up).
   */
  private afterSpawn(gen: number, key: string, pids: number[]): void {
    if (this.ledger === null) return;
    if (this.crashDaemon !== null && !this.startingUp && this.faults.roll('ledger-crash')) {
      this.trace.add(() => 'fault ledger-crash: daemon dies before its ledger write');
      this.crashDaemon(gen);
      return;
    }
    for (const pid of pids) {
      const p = this.procs.get(pid) as SimProc;
      this.ledger.record({ pgid: p.pgid, startTicks: p.startMs, key });
    }
  }

  attachCgroups(gate: CgroupGate): void {
    this.cgroups = gate;
  }

  /** The `Kernel` port as daemon generation `gen` sees it. */
  port(gen: number): Kernel {
    return {
      spawn: (key, req) => this.spawn(gen, key, req),
      prepare: (key, req) => this.prepare(gen, key, req),
      start: (pid) => this.startHeld(gen, pid),
      abandon: (pid) => this.abandon(pid),
      spawnGroup: (key, req) => this.spawnGroup(gen, key, req),
      signal: (pid, signal) => this.signal(gen, pid, signal),
      sample: (pids) => this.sample(pids),
      release: (key) => this.release(gen, key),
      onEvent: (listener) => {
        const list = this.listeners.get(gen) ?? [];
        list.push(listener);
        this.listeners.set(gen, list);
      },
    };
  }

  liveProcs(): SimProc[] {
    return [...this.live];
  }

  rssBytes(p: SimProc): number {
    if (!p.alive) return 0;
    return p.script.rssBytes + p.script.growBytesPerMs * (this.clock.nowMs() - p.startMs);
  }

  cpuUs(p: SimProc): number {
    const endMs = p.diedAtMs ?? this.clock.nowMs();
    return (endMs - p.startMs) * p.script.cpuPermille;
  }

  /** Daemon `gen` died: its roots die with it (PDEATHSIG), their children are orphaned. */
  crashGen(gen: number): number {
    let killed = 0;
    for (const p of [...this.live]) {
      if (p.alive && p.gen === gen && p.rootPid === p.pid) {
        this.die(p, null, 'SIGKILL', false);
        killed += 1;
      }
    }
    return killed;
  }

  spawn(gen: number, key: string, req: ProcRequest): PortResult<{ pid: number }> {
    const started = this.start(gen, key, req, 'spawn');
    if (!started.ok) {
      this.noteFailure(gen, key, false, started.error);
      return started;
    }
    const pids = [started.value.pid];
    this.recordStart(gen, key, started.value.pid, req);
    this.trace.add(
      () => `spawn key=${key} pid=${started.value.pid} ${req.exec} ${req.argv.join(' ')}`,
    );
    this.afterSpawn(gen, key, pids);
    return { ok: true, value: { pid: started.value.pid } };
  }

  /** The spawn record of one process that starts running its program now. */
  private recordStart(gen: number, key: string, pid: number, req: ProcRequest): void {
    const task = taskOf(req.envp);
    this.spawns.push({
      atMs: this.clock.nowMs(),
      gen,
      key,
      pids: [pid],
      group: false,
      ok: true,
      seq: ++this.seq,
      ...(task ? { task } : {}),
    });
  }

  /**
   * A held process: set up (spawn-fail, a cgroup's admission and the ledger apply as for a
   * spawn) but running nothing of its script until `startHeld`. No spawn record: the
   * delivery is the start.
   */
  prepare(gen: number, key: string, req: ProcRequest): PortResult<{ pid: number }> {
    const made = this.start(gen, key, req, 'prepare', false);
    if (!made.ok) return made;
    const p = made.value;
    p.held = true;
    this.heldReqs.set(p.pid, req);
    this.trace.add(() => `prepare key=${key} pid=${p.pid} ${req.exec}`);
    this.afterSpawn(gen, key, [p.pid]);
    return { ok: true, value: { pid: p.pid } };
  }

  /**
   * The held process runs its script from now. The `spawn-fail` site here is an exec that
   * fails after the start (the binary vanished meanwhile): it exits 127 with `startFailed`.
   */
  startHeld(gen: number, pid: number): PortResult<{ pid: number }> {
    const req = this.heldReqs.get(pid);
    const p = this.procs.get(pid);
    if (req === undefined || p === undefined || !p.alive || p.gen !== gen) {
      return { ok: false, error: portError('start', 'InvalidArgument', `no held process ${pid}`) };
    }
    this.heldReqs.delete(pid);
    p.held = false;
    p.startMs = this.clock.nowMs();
    this.recordStart(gen, p.key, pid, req);
    this.trace.add(() => `start key=${p.key} pid=${pid} ${req.exec}`);
    if (this.faults.roll('spawn-fail')) {
      const failed = `exec ${req.exec}: No such file or directory`;
      this.trace.add(() => `fault spawn-fail (after start) pid=${pid} ${req.exec}`);
      this.die(p, 127, null, true, failed);
      return { ok: true, value: { pid } };
    }
    this.lifecycles += 1;
    this.animate(p);
    return { ok: true, value: { pid } };
  }

  /** A held process that will not run: gone, with no exit event. */
  abandon(pid: number): void {
    const p = this.procs.get(pid);
    if (!this.heldReqs.delete(pid) || p === undefined || !p.alive) return;
    this.trace.add(() => `abandon key=${p.key} pid=${pid}`);
    this.vanish(p);
  }

  spawnGroup(
    gen: number,
    key: string,
    req: GroupRequest,
  ): PortResult<{ pids: number[]; taps: TapInfo[] }> {
    const started: SimProc[] = [];
    for (const node of req.nodes) {
      const result = this.start(gen, key, node, 'spawnGroup');
      if (!result.ok) {
        for (const p of started) this.vanish(p);
        this.noteFailure(gen, key, true, result.error);
        return result;
      }
      started.push(result.value);
    }
    const pids = started.map((p) => p.pid);
    this.spawns.push({
      atMs: this.clock.nowMs(),
      gen,
      key,
      pids,
      group: true,
      ok: true,
      seq: ++this.seq,
    });
    this.trace.add(() => `spawnGroup key=${key} pids=${pids.join(',')}`);
    const taps = req.taps.map((tap) => ({
      edgeIndex: tap.edgeIndex,
      socketPath: `/sim/flow/${key}/${tap.edgeIndex}.sock`,
    }));
    for (const tap of req.taps) this.scheduleTapSample(gen, key, tap.edgeIndex, tap.sampleBytes);
    this.afterSpawn(gen, key, pids);
    return { ok: true, value: { pids, taps } };
  }

  signal(gen: number, pid: number, signal: SignalName): void {
    const p = this.procs.get(pid);
    this.trace.add(() => `signal pid=${pid} ${signal} by=gen${gen}${p?.alive ? '' : ' (gone)'}`);
    if (p === undefined || !p.alive) return;
    if (signal === 'SIGKILL') {
      this.die(p, null, 'SIGKILL');
    } else if (signal === 'SIGUSR1' || signal === 'SIGUSR2' || p.script.ignoreTerm) {
      // Ignored: user signals have no scripted meaning; ignore-term ignores TERM/INT/HUP.
    } else if (p.script.termDelayMs === 0) {
      this.die(p, null, signal);
    } else {
      this.after(p, p.script.termDelayMs, () => this.die(p, 0, null));
    }
  }

  sample(pids: number[]): ProcStats {
    const roots = new Set(pids);
    let alive = 0;
    let rssBytes = 0;
    let cpuUs = 0;
    // Like /proc: only the living can be read.
    for (const p of this.live) {
      if (!roots.has(p.rootPid)) continue;
      alive += 1;
      rssBytes += this.rssBytes(p);
      cpuUs += this.cpuUs(p);
    }
    return { alive, rssBytes, cpuUs };
  }

  release(gen: number, key: string): void {
    let liveProcs = 0;
    for (const p of this.live) if (p.key === key && p.gen === gen) liveProcs++;
    this.releases.push({ atMs: this.clock.nowMs(), gen, key, liveProcs });
    this.ledger?.forget(key);
    this.trace.add(() => `release key=${key} live=${liveProcs}`);
  }

  private noteFailure(gen: number, key: string, group: boolean, error: PortError): void {
    if (!this.isAlive(gen)) return;
    this.spawns.push({
      atMs: this.clock.nowMs(),
      gen,
      key,
      pids: [],
      group,
      ok: false,
      seq: ++this.seq,
    });
    this.trace.add(() => `spawn failed key=${key}: ${error.message}`);
  }

  /** Kill one process (SIGKILL) on behalf of the simulated cgroups. */
  kill(pid: number, oom: boolean): void {
    const p = this.procs.get(pid);
    if (p === undefined || !p.alive) return;
    if (oom) p.oomKilled = true;
    this.trace.add(() => `${oom ? 'oom-kill' : 'cgroup-kill'} pid=${pid} key=${p.key}`);
    this.die(p, null, 'SIGKILL');
  }

  private start(
    gen: number,
    key: string,
    req: ProcRequest,
    method: string,
    run = true,
  ): PortResult<SimProc> {
    if (!this.isAlive(gen)) {
      return { ok: false, error: portError(method, 'Unknown', 'daemon is gone') };
    }
    const script =
      parseScript(req.exec, req.argv, req.stdin) ??
      (this.hostBinaries ? hostScript(req.exec, req.argv) : null);
    if (script === null) {
      const message = `exec ${req.exec}: No such file or directory`;
      return {
        ok: false,
        error: portError(method, 'NotFound', message, {
          errno: 2,
          syscall: 'execve',
          path: req.exec,
        }),
      };
    }
    if (this.faults.roll('spawn-fail'))
      return { ok: false, error: this.spawnFault(key, req, method) };
    const cgroup = req.envelope.cgroup;
    if (cgroup !== null) {
      const refused = this.cgroups?.admit(cgroup, 1) ?? null;
      if (refused !== null) return { ok: false, error: { ...refused, method } };
    }
    const p = this.makeProc(gen, key, req.exec, script, cgroup, req.notify, null);
    if (!run) return { ok: true, value: p };
    this.lifecycles += 1;
    this.animate(p);
    return { ok: true, value: p };
  }

  /** EAGAIN from fork, or ENOENT: the binary vanished since the last start. */
  private spawnFault(key: string, req: ProcRequest, method: string): PortError {
    this.trace.add(() => `fault spawn-fail key=${key} ${req.exec}`);
    if (this.faults.amount(0, 1) === 0) {
      const message = 'fork: Resource temporarily unavailable';
      return portError(method, 'Busy', message, { errno: 11, syscall: 'fork' });
    }
    const message = `exec ${req.exec}: No such file or directory`;
    return portError(method, 'NotFound', message, { errno: 2, syscall: 'execve', path: req.exec });
  }

  private makeProc(
    gen: number,
    key: string,
    exec: string,
    script: Script,
    cgroup: string | null,
    notify: boolean,
    rootPid: number | null,
    childIndex = 0,
  ): SimProc {
    this.nextPid += 1;
    const pid = this.nextPid;
    const p: SimProc = {
      pid,
      key,
      gen,
      rootPid: rootPid ?? pid,
      ppid: rootPid ?? 0,
      pgid: rootPid !== null && childIndex % 3 !== 1 ? rootPid : pid,
      marked: rootPid === null || childIndex % 3 !== 2,
      exec,
      script,
      startMs: this.clock.nowMs(),
      alive: true,
      diedAtMs: null,
      exitCode: null,
      exitSignal: null,
      cgroup,
      notify,
      children: [],
      timers: [],
      oomKilled: false,
      lastPingMs: null,
      readyAtMs: null,
      held: false,
    };
    this.procs.set(pid, p);
    this.live.add(p);
    if (cgroup !== null) {
      const members = this.byCgroup.get(cgroup) ?? [];
      members.push(p);
      this.byCgroup.set(cgroup, members);
    }
    return p;
  }

  /** Arm the scripted future of a new root process. */
  private animate(p: SimProc): void {
    const s = p.script;
    if (s.exitAfterMs !== null)
      this.after(p, s.exitAfterMs, () => this.die(p, s.exitCode, s.exitSignal));
    if (this.faults.roll('process-crash')) {
      const atMs = this.faults.amount(1, 5000);
      this.trace.add(() => `fault process-crash pid=${p.pid} in ${atMs}ms`);
      this.after(p, atMs, () => this.die(p, null, 'SIGSEGV'));
    }
    if (s.forkChildren > 0) {
      this.after(p, 1, () => {
        for (let i = 0; i < s.forkChildren; i++) this.forkChild(p, i);
      });
    }
    if (p.notify && s.readyAfterMs !== null) {
      this.after(p, s.readyAfterMs, () => this.notifyLoop(p, 'READY=1'));
    }
    if (s.growBytesPerMs > 0) this.armGrowth();
  }

  private forkChild(root: SimProc, index: number): void {
    if (root.cgroup !== null && (this.cgroups?.admit(root.cgroup, 1) ?? null) !== null) {
      this.trace.add(() => `fork refused pid=${root.pid}: pids limit`);
      return;
    }
    const child = this.makeProc(
      root.gen,
      root.key,
      root.exec,
      CHILD_SCRIPT,
      root.cgroup,
      false,
      root.pid,
      index,
    );
    root.children.push(child.pid);
  }

  private notifyLoop(p: SimProc, message: string): void {
    if (message === 'WATCHDOG=1') p.lastPingMs = this.clock.nowMs();
    if (message === 'READY=1') p.readyAtMs = this.clock.nowMs();
    this.deliver(p.gen, { type: 'notify', pid: p.pid, message });
    const s = p.script;
    if (s.watchdogEveryMs === 0) return;
    const nextMs = this.clock.nowMs() + s.watchdogEveryMs;
    if (s.hangAfterMs > 0 && nextMs - p.startMs >= s.hangAfterMs) return;
    this.after(p, s.watchdogEveryMs, () => this.notifyLoop(p, 'WATCHDOG=1'));
  }

  private after(p: SimProc, ms: number, fire: () => void): void {
    p.timers.push(this.clock.setTimer(this.clock.nowMs() + ms, fire));
  }

  /** `withChildren`: false for a daemon crash, whose roots' children are orphaned. */
  private die(
    p: SimProc,
    code: number | null,
    signal: string | null,
    withChildren = true,
    startFailed?: string,
  ): void {
    if (!p.alive) return;
    this.heldReqs.delete(p.pid);
    p.alive = false;
    this.live.delete(p);
    p.diedAtMs = this.clock.nowMs();
    p.exitCode = code;
    p.exitSignal = signal;
    for (const t of p.timers) this.clock.clearTimer(t);
    p.timers = [];
    for (const pid of p.children) {
      const child = this.procs.get(pid);
      if (child === undefined) continue;
      if (withChildren) this.die(child, null, 'SIGKILL');
      else child.ppid = 1;
    }
    if (p.rootPid !== p.pid) return;
    this.trace.add(() => `died pid=${p.pid} key=${p.key} code=${code} signal=${signal}`);
    const lateMs = this.faults.roll('late-exit') ? this.faults.amount(1, 500) : 0;
    if (lateMs > 0) this.trace.add(() => `fault late-exit pid=${p.pid} +${lateMs}ms`);
    const diedAtMs = p.diedAtMs;
    this.clock.setTimer(diedAtMs + lateMs, () => {
      if (!this.isAlive(p.gen)) return;
      this.reported.add(p.pid);
      this.exits.push({
        pid: p.pid,
        key: p.key,
        gen: p.gen,
        code,
        signal,
        diedAtMs,
        deliveredAtMs: this.clock.nowMs(),
        seq: ++this.seq,
      });
      const exit = { type: 'exit' as const, pid: p.pid, code, signal };
      this.deliver(p.gen, startFailed === undefined ? exit : { ...exit, startFailed });
    });
  }

  /** A process that never really ran (its group failed to start): no exit event. */
  private vanish(p: SimProc): void {
    this.heldReqs.delete(p.pid);
    p.alive = false;
    this.live.delete(p);
    p.diedAtMs = this.clock.nowMs();
    for (const t of p.timers) this.clock.clearTimer(t);
    for (const pid of p.children) {
      const child = this.procs.get(pid);
      if (child !== undefined) this.vanish(child);
    }
  }

  private deliver(gen: number, event: KernelEvent): void {
    if (!this.isAlive(gen)) return;
    for (const listener of this.listeners.get(gen) ?? []) listener(event);
  }

  private scheduleTapSample(
    gen: number,
    key: string,
    edgeIndex: number,
    sampleBytes: number,
  ): void {
    const text = '{"hello": 1}\n'.repeat(8).slice(0, Math.max(1, sampleBytes));
    this.clock.setTimer(this.clock.nowMs() + 1, () =>
      this.deliver(gen, {
        type: 'tap-sample',
        key,
        edgeIndex,
        bytes: new TextEncoder().encode(text),
      }),
    );
  }

  private armGrowth(): void {
    if (this.growthTimer !== null) return;
    this.growthTimer = this.clock.setTimer(this.clock.nowMs() + GROWTH_TICK_MS, () => {
      this.growthTimer = null;
      this.cgroups?.enforceMemory();
      for (const p of this.live) {
        if (p.script.growBytesPerMs > 0) {
          this.armGrowth();
          return;
        }
      }
    });
  }
}

/** The task a worker's process was started for, from its environment. */
function taskOf(envp: string[]): { id: string; attempt: number } | null {
  const get = (name: string) => envp.find((e) => e.startsWith(`${name}=`))?.slice(name.length + 1);
  const id = get('SHIPOTE_TASK_ID');
  if (id === undefined) return null;
  return { id, attempt: Number(get('SHIPOTE_TASK_ATTEMPT') ?? 0) };
}
