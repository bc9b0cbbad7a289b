/** Shared helpers for the Linux adapter's integration tests (real processes). */

import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLinuxKernel, type LinuxKernel } from '../adapters/linux/kernel.js';
import { noNamespaces } from '../core/manifest/defaults.js';
import type { Envelope, KernelEvent, ProcRequest } from '../core/ports.js';

export { noNamespaces };

export function envelope(over: Partial<Envelope> = {}): Envelope {
  return { rlimits: { nofile: 0, nproc: 0 }, namespaces: noNamespaces(), cgroup: null, ...over };
}

export function req(exec: string, argv: string[], over: Partial<ProcRequest> = {}): ProcRequest {
  return {
    exec,
    argv,
    envp: [],
    cwd: '',
    envelope: envelope(),
    notify: false,
    watchdogUs: 0,
    ...over,
  };
}

/** Polls `check` until it returns a value other than undefined, or fails at the deadline. */
export async function pollUntil<T>(
  check: () => T | undefined,
  what: string,
  deadlineMs = 10_000,
): Promise<T> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const v = check();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export interface Harness {
  kernel: LinuxKernel;
  events: KernelEvent[];
  runtimeDir: string;
  pids: number[];
  exitOf(pid: number): Promise<Extract<KernelEvent, { type: 'exit' }>>;
  text(key: string, which?: 'stdout' | 'stderr' | 'both'): string;
  /** Resolves once everything `key`'s processes wrote is captured (their pipes at EOF). */
  captured(key: string): Promise<void>;
  /** Close the kernel and remove its runtime dir (sockets): tests leave nothing in /tmp. */
  close(): void;
}

export function harness(): Harness {
  const runtimeDir = mkdtempSync(join(tmpdir(), 'shipote-linux-'));
  const kernel = createLinuxKernel({ runtimeDir });
  const events: KernelEvent[] = [];
  kernel.onEvent((e) => events.push(e));
  const h: Harness = {
    kernel,
    events,
    runtimeDir,
    pids: [],
    exitOf: (pid) =>
      pollUntil(
        () =>
          events.find((e) => e.type === 'exit' && e.pid === pid) as
            | Extract<KernelEvent, { type: 'exit' }>
            | undefined,
        `exit of ${pid}`,
      ),
    text: (key, which = 'stdout') => Buffer.from(kernel.logs(key, which)).toString('utf8'),
    captured: (key) => new Promise((done) => kernel.whenCaptured(key, done)),
    close: () => {
      kernel.close();
      rmSync(runtimeDir, { recursive: true, force: true });
    },
  };
  return h;
}

/**
 * For a test file's harness: after all its tests, closes `h` and waits until every child
 * started since this call has ended (children from before, e.g. jest's esbuild service,
 * are not ours).
 */
export function closeAfterAll(h: Harness): void {
  const before = new Set(childrenOfSelf());
  afterAll(async () => {
    h.close();
    const ours = (): number[] => childrenOfSelf().filter((pid) => !before.has(pid));
    await pollUntil(() => (ours().length === 0 ? true : undefined), 'no children left');
  }, 20_000);
}

/** Live children of this (test) process, from /proc/self/task/<tid>/children. */
export function childrenOfSelf(): number[] {
  const out: number[] = [];
  const tasks = `/proc/${process.pid}/task`;
  for (const tid of readdirSync(tasks)) {
    const text = readFileSync(join(tasks, tid, 'children'), 'utf8');
    out.push(...text.split(/\s+/).filter(Boolean).map(Number));
  }
  return out.filter((pid) => {
    if (!existsSync(`/proc/${pid}/stat`)) return false;
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/\) Z /.test(stat);
  });
}
