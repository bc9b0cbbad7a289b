/**
 * The Kernel port on Linux: the native addon spawns (vfork-style clone + exec with the
 * envelope applied in the child), exits arrive through pidfds watched by libuv (children
 * raise no SIGCHLD), logs are captured into bounded rings (spawn's capture pipes are made
 * and read by the addon: no fd crosses into JS), groups are wired with kernel pipes and
 * native pumps.
 */

import { closeSync, constants as fsc, mkdirSync, openSync, statfsSync } from 'node:fs';
import { constants as osc } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { OutputName } from '../../core/manifest/types.js';
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
} from '../../core/ports.js';
import { LogCursor } from '../logstore/cursor.js';
import {
  CAPTURE,
  isSysError,
  loadAddon,
  type NativeAddon,
  type Spawned,
  type SysError,
} from './addon.js';
import { ByteBudget, bufferBytesDefault } from './budget.js';
import { dispatchCapture } from './capture.js';
import { dirsOf } from './cgroups/handle.js';
import { spawnOptsFor, validateProcRequest, withEnv } from './envelope.js';
import { sysPortError } from './errors.js';
import { type GroupLauncher, spawnGroupWith } from './group.js';
import { Ledger } from './ledger.js';
import {
  type LogLimits,
  type LogListener,
  LogStore,
  type LogWhich,
  logLimitsDefault,
} from './logs.js';
import { sampleTrees } from './proc-stats.js';
import { resolveRunAs } from './run-as.js';
import { stdinFd } from './stdin.js';
import type { FlowInfo, TapFlow } from './taps.js';
import { ProcessTrees } from './tree-signals.js';

export type { LogLimits, LogListener, LogWhich } from './logs.js';
export type { FlowInfo } from './taps.js';

export interface LinuxKernelOptions {
  /** Directory for notify and flow sockets; created if missing. */
  runtimeDir: string;
  /** Where captured output is written (the log store); default `<runtimeDir>/logs`. */
  logDir?: string;
  /** Rotation of the log files (daemon-wide defaults). */
  logLimits?: LogLimits;
  /** The daemon-wide budget for flow replay buffers and reader backlogs; default 64 MiB. */
  bufferBytes?: number;
  /** F_SETPIPE_SZ for the pipes we create; 0/absent = kernel default. */
  pipeSizeBytes?: number;
  /**
   * The process ledger (ledger.ts): each process group we start is recorded there, and
   * `tag` goes into every child's scope marker. Absent: a tag of this adapter's own.
   */
  ledger?: { path: string; tag: string } | undefined;
  /** Become the child subreaper: orphans of what we start re-parent to us and are reaped. */
  subreaper?: boolean;
}

interface ResolvedOptions {
  runtimeDir: string;
  logDir: string;
  logLimits: LogLimits;
  bufferBytes: number;
  pipeSizeBytes: number;
  ledger: { path: string; tag: string } | undefined;
  subreaper: boolean;
}

export interface LinuxKernel extends Kernel {
  /** Held processes: native/src/spawn.cc's gate (always there on Linux). */
  prepare(key: string, req: ProcRequest): PortResult<{ pid: number }>;
  start(pid: number): PortResult<{ pid: number }>;
  abandon(pid: number): void;
  /** Everything retained of `key`'s logs (the last `tailBytes`), read from the files. */
  logs(key: string, which: LogWhich, tailBytes?: number): Uint8Array;
  /** The directory holding `key`'s log files. */
  logDir(key: string): string;
  logBytes(key: string): { stdout: number; stderr: number };
  /** `key`'s meta.json, written with its first log file (adapters/linux/logs.ts). */
  logMeta(key: string, text: string): void;
  /** `fire` once the output of `key`'s processes is fully captured (their pipes at EOF). */
  whenCaptured(key: string, fire: () => void): void;
  /** A nudge whenever `key`'s log files grew or a stream ended. */
  followLogs(key: string, listener: LogListener): () => void;
  flows(): FlowInfo[];
  /** Reaps the re-parented orphans waiting now; how many were reaped since start. */
  reapOrphans(): number;
  /**
   * Delivers now the exits and log ends that are ready (what the loop's next turns would):
   * the supervisor reacts to its children before the caller's own work.
   */
  deliverReady(): void;
  /** Stops pumps, closes sockets, SIGKILLs every live child we started. */
  close(): void;
}

const CGROUP2_SUPER_MAGIC = 0x63677270;
const signalNumbers = osc.signals as Record<string, number>;
const signalNames = new Map<number, string>(
  Object.entries(signalNumbers).map(([name, n]) => [n, name]),
);
const errnoNames = new Map<number, string>(
  Object.entries(osc.errno).map(([name, n]) => [n as number, name]),
);

// One set of addon callbacks per process, dispatched to the kernel that owns the pid.
const exitOwners = new Map<number, KernelImpl>();
const notifyOwners = new Map<number, KernelImpl>();
let addonReady: NativeAddon | null = null;

function addon(): NativeAddon {
  if (addonReady) return addonReady;
  const a = loadAddon();
  a.init(
    (pid, code, signo, errno, execErrno, execStep) => {
      const owner = exitOwners.get(pid);
      exitOwners.delete(pid);
      owner?.onExit(pid, code, signo, errno, execErrno, execStep);
    },
    (id, pid, message) => notifyOwners.get(id)?.onNotify(id, pid, message),
    dispatchCapture,
  );
  addonReady = a;
  return a;
}

export { validateProcRequest } from './envelope.js';

export class KernelImpl implements LinuxKernel, GroupLauncher {
  readonly native: NativeAddon;
  readonly logStore: LogStore;
  readonly budget: ByteBudget;
  private readonly listeners: ((event: KernelEvent) => void)[] = [];
  private readonly live = new Map<number, string>(); // pid → key
  private readonly discarded = new Set<number>();
  /** Held processes (`prepare`) with what `start` needs. */
  private readonly held = new Map<number, { key: string; req: ProcRequest; spawned: Spawned }>();
  /** Started held processes whose exec may still fail (its outcome comes with the exit). */
  private readonly started = new Map<number, string>();
  private readonly notifyByKey = new Map<string, { id: number; path: string }>();
  private readonly notifyKeys = new Map<number, string>();
  private readonly lastPid = new Map<string, number>();
  readonly groups = new Map<string, { pumps: number[]; taps: TapFlow[]; keys: string[] }>();
  private readonly identity = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
  readonly runtimeDir: string;
  readonly trees: ProcessTrees;

  constructor(readonly opts: ResolvedOptions) {
    this.native = addon();
    this.logStore = new LogStore(this.native, opts.logDir, opts.logLimits);
    this.budget = new ByteBudget(opts.bufferBytes);
    this.runtimeDir = opts.runtimeDir;
    mkdirSync(opts.runtimeDir, { recursive: true, mode: 0o700 });
    const ledger = opts.ledger ? new Ledger(opts.ledger.path, opts.ledger.tag) : null;
    this.trees = new ProcessTrees(this.native, ledger, (pid) => this.live.has(pid));
    if (opts.subreaper) {
      const errno = this.native.becomeSubreaper();
      if (errno !== 0) {
        const name = errnoNames.get(errno) ?? `errno ${errno}`;
        process.stderr.write(`shipote: prctl(PR_SET_CHILD_SUBREAPER): ${name}\n`);
      }
    }
  }

  nowMs(): number {
    return Math.floor(performance.now());
  }

  reapOrphans(): number {
    return this.native.reapNow();
  }

  deliverReady(): void {
    this.native.deliverReady();
  }

  emit(event: KernelEvent): void {
    for (const l of this.listeners) l(event);
  }

  onEvent(listener: (event: KernelEvent) => void): void {
    this.listeners.push(listener);
  }

  onExit(pid: number, code: number, signo: number, errno = 0, execErrno = 0, execStep = ''): void {
    this.live.delete(pid);
    const started = this.started.get(pid);
    this.started.delete(pid);
    if (this.discarded.delete(pid)) return; // part of a group that failed to start
    if (execErrno > 0 && started !== undefined) {
      // A held process whose exec failed after `start`: that is the start's failure.
      const e = this.spawnError('start', started, { errno: execErrno, syscall: execStep });
      this.emit({ type: 'exit', pid, code: 127, signal: null, startFailed: e.message });
      return;
    }
    if (errno > 0) {
      // waitid failed: the process is gone, how it ended is not known. Not an exit code.
      const statusUnknown = `waitid: ${errnoNames.get(errno) ?? `errno ${errno}`}`;
      this.emit({ type: 'exit', pid, code: null, signal: 'UNKNOWN', statusUnknown });
      return;
    }
    const signal = signo > 0 ? (signalNames.get(signo) ?? `SIG${signo}`) : null;
    this.emit({ type: 'exit', pid, code: signo > 0 ? null : code, signal });
  }

  onNotify(id: number, pid: number, message: string): void {
    const key = this.notifyKeys.get(id);
    if (key === undefined) return;
    this.emit({ type: 'notify', pid: pid > 0 ? pid : (this.lastPid.get(key) ?? 0), message });
  }

  invalid(method: string, message: string): PortResult<never> {
    const error: PortError = {
      _tag: 'PortError',
      port: 'Kernel',
      method,
      reason: 'InvalidArgument',
      message,
    };
    return { ok: false, error };
  }

  /** A pipe pair, or a PortError. `sizeBytesMin`: at least this big (pumped pipes). */
  pipe(method: string, sizeBytesMin = 0): PortResult<[number, number]> {
    const p = this.native.pipe(Math.max(this.opts.pipeSizeBytes, sizeBytesMin));
    if (isSysError(p)) return { ok: false, error: sysPortError(this.ctx(method, 'pipe'), p) };
    return { ok: true, value: p };
  }

  /** The error of starting `exec`: its exec (`exec …`) or a step of the child's setup. */
  private spawnError(method: string, exec: string, e: SysError): PortError {
    const what = e.syscall === 'execve' ? `exec ${exec}` : `spawn ${exec}`;
    return sysPortError(this.ctx(method, what, exec), e);
  }

  ctx(method: string, what: string, path?: string) {
    return path === undefined
      ? { port: 'Kernel' as const, method, what }
      : { port: 'Kernel' as const, method, what, path };
  }

  closeFds(fds: Iterable<number>): void {
    for (const fd of fds) if (fd >= 0) this.native.close(fd);
  }

  private notifySocket(key: string, method: string): PortResult<string> {
    const have = this.notifyByKey.get(key);
    if (have) return { ok: true, value: have.path };
    const path = join(this.opts.runtimeDir, `notify-${key.replace(/\//g, '-')}.sock`);
    const id = this.native.notifyOpen(path);
    if (isSysError(id)) {
      return {
        ok: false,
        error: sysPortError(this.ctx(method, `notify socket ${path}`, path), id),
      };
    }
    this.notifyByKey.set(key, { id, path });
    this.notifyKeys.set(id, key);
    notifyOwners.set(id, this);
    return { ok: true, value: path };
  }

  private cgroupDirFd(handle: string | null): number {
    const dirs = handle === null ? [] : dirsOf(handle);
    if (dirs.length !== 1) return -1;
    try {
      if (statfsSync(dirs[0]!).type !== CGROUP2_SUPER_MAGIC) return -1;
      return openSync(dirs[0]!, fsc.O_RDONLY | fsc.O_DIRECTORY);
    } catch {
      return -1; // the child joins through cgroup.procs instead
    }
  }

  /**
   * Starts one process with the given stdio (fds; -1 = /dev/null; `CAPTURE` = a pipe the
   * addon makes, whose read end comes back in `Spawned`). `group` (graph nodes): no session
   * of its own; `pgid` 0 leads the graph's process group, > 0 joins it; `root` is the
   * graph's key.
   */
  launch(
    key: string,
    req: ProcRequest,
    stdio: [number, number, number],
    method: string,
    group?: { root: string; pgid: number },
    gate = false,
  ): PortResult<Spawned> {
    const root = group?.root ?? key;
    let envp = this.trees.mark(req.envp, root);
    if (req.notify) {
      const sock = this.notifySocket(key, method);
      if (!sock.ok) return sock;
      envp = withEnv(envp, 'NOTIFY_SOCKET', sock.value);
    }
    const opts = spawnOptsFor(this.native.constants, req.envelope, this.identity);
    if (group !== undefined) {
      opts.setsid = false;
      opts.pgid = group.pgid;
    }
    if (req.watchdogUs !== undefined && req.watchdogUs > 0) {
      envp = withEnv(envp, 'WATCHDOG_USEC', String(req.watchdogUs));
      opts.watchdogPid = true; // the child writes its own pid (native/src/spawn.cc)
    }
    const runAs = resolveRunAs(this.native, req, this.identity.uid, method);
    if (!runAs.ok) return runAs;
    Object.assign(opts, runAs.value);
    if (this.opts.pipeSizeBytes > 0) opts.pipeSizeBytes = this.opts.pipeSizeBytes;
    const cgroupFd = req.envelope.cgroup === null ? -1 : this.cgroupDirFd(req.envelope.cgroup);
    if (cgroupFd >= 0) opts.cgroupFd = cgroupFd;
    if (gate) opts.gate = true;
    let r: Spawned | SysError;
    try {
      r = this.native.spawn(req.exec, req.argv, envp, req.cwd, stdio, opts);
    } finally {
      if (cgroupFd >= 0) closeSync(cgroupFd);
    }
    if (isSysError(r)) return { ok: false, error: this.spawnError(method, req.exec, r) };
    this.live.set(r.pid, key);
    this.lastPid.set(key, r.pid);
    exitOwners.set(r.pid, this);
    this.trees.started(root, r.pid, group === undefined || group.pgid === 0, r.startTicks);
    return { ok: true, value: r };
  }

  spawn(key: string, req: ProcRequest): PortResult<{ pid: number }> {
    const r = this.launchOne(key, req, 'spawn', false);
    if (!r.ok) return r;
    this.capture(key, req, r.value);
    return { ok: true, value: { pid: r.value.pid } };
  }

  /**
   * A held process (native/src/spawn.cc, the gate): set up in full, stdin filled, but
   * stopped before its exec. Its capture pipes are handed to the log writer only at
   * `start`: until then the key's logs belong to the process running now.
   */
  prepare(key: string, req: ProcRequest): PortResult<{ pid: number }> {
    const r = this.launchOne(key, req, 'prepare', true);
    if (!r.ok) return r;
    this.held.set(r.value.pid, { key, req, spawned: r.value });
    return { ok: true, value: { pid: r.value.pid } };
  }

  start(pid: number): PortResult<{ pid: number }> {
    const held = this.held.get(pid);
    if (!held) return this.invalid('start', `no held process ${pid}`);
    this.held.delete(pid);
    const opened = this.native.openGate(pid);
    if (isSysError(opened)) {
      this.closeCapture(held.spawned);
      this.discard([pid]); // it exits 127: the failure is this error, not an exit
      return { ok: false, error: this.spawnError('start', held.req.exec, opened) };
    }
    this.capture(held.key, held.req, held.spawned);
    this.started.set(pid, held.req.exec);
    return { ok: true, value: { pid } };
  }

  abandon(pid: number): void {
    const held = this.held.get(pid);
    if (!held) return;
    this.held.delete(pid);
    this.closeCapture(held.spawned);
    this.discard([pid]);
  }

  private launchOne(
    key: string,
    req: ProcRequest,
    method: string,
    gate: boolean,
  ): PortResult<Spawned> {
    const problem = validateProcRequest(req);
    if (problem) return this.invalid(method, problem);
    let stdin = -1;
    if (req.stdin !== undefined) {
      const fd = stdinFd(this.native, req.stdin, this.opts.runtimeDir);
      if (!fd.ok) return fd;
      stdin = fd.value;
    }
    // The addon makes the capture pipes; their read ends go straight to the log writer
    // thread (never watched by this loop).
    try {
      return this.launch(key, req, [stdin, CAPTURE, CAPTURE], method, undefined, gate);
    } finally {
      if (stdin >= 0) this.native.close(stdin);
    }
  }

  private capture(key: string, req: ProcRequest, { out, err }: Spawned): void {
    if (out >= 0) this.logStore.captureFd(key, 'stdout', out, req.logs);
    if (err >= 0) this.logStore.captureFd(key, 'stderr', err, req.logs);
  }

  private closeCapture({ out, err }: Spawned): void {
    if (out >= 0) this.native.close(out);
    if (err >= 0) this.native.close(err);
  }

  /** Kills pids of a group that failed to start; their exits are not reported. */
  discard(pids: number[]): void {
    for (const pid of pids) {
      this.discarded.add(pid);
      this.native.signal(pid, signalNumbers.SIGKILL!);
    }
  }

  spawnGroup(key: string, req: GroupRequest): PortResult<{ pids: number[]; taps: TapInfo[] }> {
    return spawnGroupWith(this, key, req);
  }

  /**
   * Signals the whole tree `pid` belongs to: every process group started for its command
   * or pipeline (whether or not the group's leader still lives, guarded by the leader's
   * start time), and the processes that left those groups (setsid, re-parented orphans).
   */
  signal(pid: number, signal: SignalName): void {
    const signo = signalNumbers[signal];
    if (signo === undefined) return;
    if (!this.trees.signalTreeOf(pid, signo)) this.native.signal(pid, signo); // ESRCH: fine
  }

  adoptGroup(key: string, held: { pumps: number[]; taps: TapFlow[]; keys: string[] }): void {
    this.groups.set(key, held);
  }

  sample(pids: number[]): ProcStats {
    return sampleTrees(pids, this.native.constants.CLK_TCK);
  }

  release(key: string): void {
    // Nothing of it is alive as far as the engine knows: what it left behind goes too.
    this.trees.release(key);
    const group = this.groups.get(key);
    const keys = group ? [key, ...group.keys] : [key];
    if (group) {
      for (const id of group.pumps) this.native.pumpStop(id);
      for (const t of group.taps) t.close();
      this.groups.delete(key);
    }
    for (const k of keys) {
      const n = this.notifyByKey.get(k);
      if (n) {
        this.native.notifyClose(n.id);
        notifyOwners.delete(n.id);
        this.notifyKeys.delete(n.id);
        this.notifyByKey.delete(k);
      }
      this.lastPid.delete(k);
      this.logStore.release(k);
    }
  }

  logs(key: string, which: LogWhich, tailBytes?: number): Uint8Array {
    const dir = this.logStore.keyDir(key);
    const streams: OutputName[] = which === 'both' ? ['stdout', 'stderr'] : [which];
    const cursor = new LogCursor(
      streams.map((stream) => ({ dir, stream })),
      tailBytes === undefined ? {} : { tailBytes },
    );
    const parts: Buffer[] = [];
    for (let b = cursor.next(); b; b = cursor.next()) parts.push(b);
    const all = Buffer.concat(parts);
    return tailBytes === undefined ? all : all.subarray(Math.max(0, all.length - tailBytes));
  }

  logDir(key: string): string {
    return this.logStore.keyDir(key);
  }

  /** `fire` once the output of `key`'s processes is fully captured (their pipes at EOF). */
  whenCaptured(key: string, fire: () => void): void {
    this.logStore.whenDrained(key, fire);
  }

  logBytes(key: string): { stdout: number; stderr: number } {
    return this.logStore.bytes(key);
  }

  logMeta(key: string, text: string): void {
    this.logStore.writeMeta(key, text);
  }

  followLogs(key: string, listener: LogListener): () => void {
    return this.logStore.follow(key, listener);
  }

  flows(): FlowInfo[] {
    return [...this.groups.values()].flatMap((g) => g.taps.map((t) => t.info()));
  }

  close(): void {
    for (const key of [...this.groups.keys(), ...this.notifyByKey.keys()]) this.release(key);
    for (const pid of this.live.keys()) this.native.signal(pid, signalNumbers.SIGKILL!);
    this.trees.close();
    this.logStore.close();
  }
}

export function createLinuxKernel(opts: LinuxKernelOptions): LinuxKernel {
  return new KernelImpl({
    runtimeDir: opts.runtimeDir,
    logDir: opts.logDir ?? join(opts.runtimeDir, 'logs'),
    logLimits: opts.logLimits ?? logLimitsDefault,
    bufferBytes: opts.bufferBytes ?? bufferBytesDefault,
    pipeSizeBytes: opts.pipeSizeBytes ?? 0,
    ledger: opts.ledger,
    subreaper: opts.subreaper ?? false,
  });
}
