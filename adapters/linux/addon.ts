/**
 * The native addon's surface, typed (STYLE native/1: thin and positional). TypeScript
 * validates options before calling; C++ checks arity and types again and throws a usage
 * string. Expected failures come back as `{ errno, syscall }` values, never throws.
 */

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface SysError {
  errno: number;
  syscall: string;
}

export interface SpawnOpts {
  /** Flat triples: [resource, soft, hard, …]; -1 = RLIM_INFINITY. */
  rlimits?: number[];
  /** CLONE_NEW* flags (user, pid, mount, net, uts, ipc) given to clone. */
  nsFlags?: number;
  /** unshare(CLONE_NEWCGROUP) after the cgroup join. */
  newCgroupNs?: boolean;
  /** With pid + mount namespaces: mount a fresh /proc. */
  mountProc?: boolean;
  /** With a net namespace: bring `lo` up. */
  loUp?: boolean;
  /** With a user namespace: `inside outside count` lines, written by the child. */
  uidMap?: string;
  gidMap?: string;
  /** cgroup.procs files the child writes "0" into before exec. */
  cgroupProcs?: string[];
  /** A cgroup2 directory fd: clone3(CLONE_INTO_CGROUP). */
  cgroupFd?: number;
  setsid?: boolean;
  /** setpgid(0, pgid) after setsid: 0 leads a new process group, > 0 joins that group. */
  pgid?: number;
  pdeathsig?: boolean;
  /** F_SETPIPE_SZ for the capture pipes spawn creates (stdio `CAPTURE`); 0 = default. */
  pipeSizeBytes?: number;
  /** Run as these ids (setgroups(0), setgid, setuid in the child); -1/absent = keep. */
  uid?: number;
  gid?: number;
  /** Put `WATCHDOG_PID=<the child's own pid>` in its environment (written by the child). */
  watchdogPid?: boolean;
  /** Hold the child before its exec until `openGate(pid)` (native/src/spawn.cc). */
  gate?: boolean;
  /** Tests: close fds one by one as on kernels without close_range(2). */
  forceCloseLoop?: boolean;
}

/** A stdio value for 1 and 2: spawn makes a pipe and returns its read end (`Spawned`). */
export const CAPTURE = -2;

export interface Spawned {
  pid: number;
  /** /proc/<pid>/stat field 22 read right after the clone; -1 if it could not be read. */
  startTicks: number;
  /** The read ends of the `CAPTURE` pipes of stdout and stderr; -1: not captured. */
  out: number;
  err: number;
}

export interface NativeConstants {
  CLONE_NEWUSER: number;
  CLONE_NEWPID: number;
  CLONE_NEWNS: number;
  CLONE_NEWNET: number;
  CLONE_NEWUTS: number;
  CLONE_NEWIPC: number;
  RLIMIT_NOFILE: number;
  RLIMIT_NPROC: number;
  RLIMIT_AS: number;
  RLIMIT_CORE: number;
  RLIMIT_CPU: number;
  RLIMIT_DATA: number;
  RLIMIT_FSIZE: number;
  RLIMIT_MEMLOCK: number;
  RLIMIT_STACK: number;
  CLK_TCK: number;
}

export interface NativeAddon {
  /**
   * Registers the per-environment callbacks. Exit: code -1 when killed by `signo`;
   * `errno` > 0 when waitid failed (no code, no signal: the status is unknown).
   * `execErrno` > 0: a held child (`gate`) whose gate was opened failed its exec at
   * `execStep` (it ran nothing of the program; its code is 127).
   */
  init(
    onExit: (
      pid: number,
      code: number,
      signo: number,
      errno: number,
      execErrno: number,
      execStep: string,
    ) => void,
    onNotify: (id: number, pid: number, message: string) => void,
    onData: (id: number, chunk: Buffer | null) => void,
  ): void;
  /**
   * stdio: fds for 0, 1, 2; -1 = /dev/null; `CAPTURE` (1 and 2) = a pipe the addon makes,
   * its read end returned (the caller's from then on). `exec` is resolved against PATH.
   * Children send no exit signal (pidfd only).
   */
  spawn(
    exec: string,
    argv: string[],
    envp: string[],
    cwd: string,
    stdio: [number, number, number],
    opts: SpawnOpts,
  ): Spawned | SysError;
  /**
   * A child spawned with `gate` execs: 0 once it has, or the error of its exec (the child
   * then exits 127). ESRCH: not a held child of ours.
   */
  openGate(pid: number): number | SysError;
  /** 0, or an errno (ESRCH when the pid is not a live child of ours). */
  signal(pid: number, signo: number): number;
  /** kill(2) as it is (negative: a process group): 0 or the errno, never a throw. */
  kill(pid: number, signo: number): number;
  /** A pipe2(O_CLOEXEC) pair [read, write]; sizeBytes > 0 → F_SETPIPE_SZ (best effort). */
  pipe(sizeBytes: number): [number, number] | SysError;
  close(fd: number): number;
  /** fcntl(F_DUPFD_CLOEXEC): a second fd on the same open file. */
  dup(fd: number): number | SysError;
  /** Tests: fcntl(F_DUPFD) without close-on-exec (a leaked fd no child may inherit). */
  dupInheritable(fd: number): number | SysError;
  /** Takes ownership of every fd given. Returns a pump id. */
  pumpStart(sources: number[], sinks: number[], bytesPerSec: number): number | SysError;
  pumpStop(id: number): void;
  /** Bytes moved so far, -1 for an unknown id. */
  pumpBytes(id: number): number;
  /** Binds a SOCK_DGRAM Unix socket with SO_PASSCRED; messages go to onNotify. */
  notifyOpen(path: string): number | SysError;
  notifyClose(id: number): void;
  /**
   * Reads a pipe read end in the libuv loop (no JS stream): chunks go to onData, then one
   * null at EOF. Takes ownership of `fd` on success; on error the caller still owns it.
   */
  captureOpen(fd: number): number | SysError;
  captureClose(id: number): void;
  probe(): { pidfd: boolean; clone3: boolean; orphansReaped: number };
  /**
   * prctl(PR_SET_CHILD_SUBREAPER) and a SIGCHLD watcher in the loop that reaps exited
   * children nobody watches (re-parented orphans). 0 or an errno.
   */
  becomeSubreaper(): number;
  /** Reaps the orphans waiting now; the number reaped since start. */
  reapNow(): number;
  /**
   * Delivers now, through the init callbacks, the log writer's pending notes and the exits
   * of watched children that have already ended (what the loop's next turns would deliver);
   * the number of exits delivered.
   */
  deliverReady(): number;
  /** glibc malloc_trim(0): free C heap pages back to the kernel; true if any were. */
  mallocTrim(): boolean;
  /** One datagram to an sd_notify socket (`@name`: abstract namespace). 0 or an errno. */
  notifySend(path: string, message: string): number;
  lookupUser(name: string): { uid: number; gid: number } | null | SysError;
  lookupGroup(name: string): number | null | SysError;
  /** The pump's token bucket over [nowMs, wantBytes, …]: [grantedBytes, waitMs, …]. */
  bucketTrace(ratePerSec: number, burstBytes: number, trace: number[]): number[];
  /**
   * Starts the log writer thread (native/src/logfile.cc) once; `onLog` gets a stream's byte
   * count when a watched stream grew, and once at its EOF.
   */
  logInit(onLog: (id: number, bytes: number, eof: boolean) => void): SysError | undefined;
  /** Splices a pipe read end into `<base>.log` (rotated) with `<base>.idx`. Takes `fd`. */
  logOpen(fd: number, base: string, maxBytes: number, keep: number): number | SysError;
  /**
   * `<dir>/meta.json` for the streams `<dir>/stdout|stderr`. 0: the writer thread writes it
   * just before their first file; 1: a stream has files already, 2: none is open (the
   * caller writes it; for 2 only if `dir` exists).
   */
  logMeta(dir: string, text: string): 0 | 1 | 2;
  logClose(id: number): void;
  /** A watched stream reports each write through onLog (followers). */
  logWatch(id: number, on: boolean): void;
  /** Bytes the stream received so far; -1 once it ended. */
  logBytes(id: number): number;
  /** The stream's offset when the pipe was added; known until its EOF note came (-1). */
  logStartBytes(id: number): number;
  readonly constants: NativeConstants;
}

export function isSysError(value: unknown): value is SysError {
  return typeof value === 'object' && value !== null && 'errno' in value && 'syscall' in value;
}

let loaded: NativeAddon | null = null;
let loadError: Error | null = null;

/** Where the addon is, seen from this file: the source tree, or dist/ after `npm run build`. */
const CANDIDATES = [
  '../../native/build/Release/shipote.node',
  '../../../native/build/Release/shipote.node',
];

/** The addon, built by `npm run install` (node-gyp) into native/build/Release. */
export function loadAddon(): NativeAddon {
  if (loaded) return loaded;
  if (loadError) throw loadError;
  const require = createRequire(import.meta.url);
  const here = dirname(fileURLToPath(import.meta.url));
  const found = CANDIDATES.map((c) => join(here, c)).find((p) => existsSync(p));
  try {
    loaded = require(found ?? join(here, CANDIDATES[0]!)) as NativeAddon;
    return loaded;
  } catch (cause) {
    loadError = new Error(
      'shipote native addon not built: run `npm run install` (node-gyp rebuild --directory native)',
      { cause },
    );
    throw loadError;
  }
}
