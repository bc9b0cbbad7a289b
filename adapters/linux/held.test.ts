/**
 * Held processes (Kernel `prepare` / `start` / `abandon`, native/src/spawn.cc's gate): set
 * up in full and stopped before their exec, so nothing of the program runs until `start`.
 */

import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { closeAfterAll, harness, pollUntil, req } from '../../testing/linux.js';

const h = harness();
const k = h.kernel;
closeAfterAll(h);

/** What the process runs now: still this test's program until it has exec'd. */
const exeOf = (pid: number): string => readlinkSync(`/proc/${pid}/exe`);

/** Waits until the held child reached its gate (blocked in read, its only fds set). */
const atGate = (pid: number) =>
  pollUntil(() => {
    const state = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0];
    return state === 'S' ? true : undefined;
  }, `${pid} waiting at its gate`);

describe('a held process', () => {
  it('runs nothing of its program until started, then runs it with stdin and logs', async () => {
    const marker = join(h.runtimeDir, 'ran');
    const script = `cat; echo ran > ${marker}; echo to-stderr >&2`;
    const stdin = new TextEncoder().encode('the task\n');
    const r = k.prepare('held', req('/bin/sh', ['-c', script], { stdin }));
    if (!r.ok) throw new Error(r.error.message);
    const { pid } = r.value;
    await atGate(pid);
    expect(exeOf(pid)).toBe(process.execPath);
    expect(existsSync(marker)).toBe(false);
    expect(h.events.some((e) => e.type === 'exit' && e.pid === pid)).toBe(false);
    expect(k.start(pid)).toEqual({ ok: true, value: { pid } });
    expect(await h.exitOf(pid)).toEqual({ type: 'exit', pid, code: 0, signal: null });
    await h.captured('held');
    expect(readFileSync(marker, 'utf8')).toBe('ran\n');
    expect(h.text('held')).toBe('the task\n');
    expect(h.text('held', 'stderr')).toBe('to-stderr\n');
  });

  it('holds none of the daemon’s fds while it waits: 0, 1, 2 and its own two', async () => {
    const r = k.prepare('fds', req('/bin/true', []));
    if (!r.ok) throw new Error(r.error.message);
    await atGate(r.value.pid);
    const fds = readdirSync(`/proc/${r.value.pid}/fd`).map(Number);
    expect(fds.filter((fd) => fd > 2)).toHaveLength(2);
    expect(fds.filter((fd) => fd <= 2).sort()).toEqual([0, 1, 2]);
    k.abandon(r.value.pid);
  });

  it('gives the program the daemon’s CPUs (its setup was pinned to one of them)', async () => {
    const cpus = (status: string) => /Cpus_allowed_list:\s*(\S+)/.exec(status)?.[1];
    const r = k.prepare('cpus', req('/bin/sh', ['-c', 'cat /proc/self/status']));
    if (!r.ok) throw new Error(r.error.message);
    expect(k.start(r.value.pid).ok).toBe(true);
    await h.exitOf(r.value.pid);
    await h.captured('cpus');
    expect(cpus(h.text('cpus'))).toBe(cpus(readFileSync('/proc/self/status', 'utf8')));
  });

  it('reports a setup failure at once, as spawn does', () => {
    const r = k.prepare('bad-cwd', req('/bin/true', [], { cwd: '/nonexistent/shipote-dir' }));
    expect(r).toMatchObject({ ok: false, error: { reason: 'NotFound', syscall: 'chdir' } });
  });

  it('reports an exec that fails after its start as the start’s error, with its exit', async () => {
    const r = k.prepare('gone', req('/nonexistent/shipote-prog', []));
    if (!r.ok) throw new Error(r.error.message);
    const started = k.start(r.value.pid);
    const exit = started.ok ? await h.exitOf(r.value.pid) : null;
    // Where the start waits for the exec (not x86-64) the error is the start's result.
    const message = started.ok ? exit?.startFailed : started.error.message;
    expect(message).toContain('exec /nonexistent/shipote-prog');
    expect(message).toMatch(/ENOENT|No such file/);
  });

  it('ends without an exit report when abandoned, and cannot be started then', async () => {
    const r = k.prepare('dropped', req('/bin/sleep', ['30']));
    if (!r.ok) throw new Error(r.error.message);
    const { pid } = r.value;
    await atGate(pid);
    k.abandon(pid);
    await pollUntil(() => (existsSync(`/proc/${pid}`) ? undefined : true), `${pid} reaped`);
    expect(h.events.some((e) => e.type === 'exit' && e.pid === pid)).toBe(false);
    expect(k.start(pid)).toMatchObject({ ok: false, error: { reason: 'InvalidArgument' } });
  });

  it('comes as an exit of its pid when killed at its gate from outside', async () => {
    const r = k.prepare('killed', req('/bin/true', []));
    if (!r.ok) throw new Error(r.error.message);
    await atGate(r.value.pid);
    process.kill(r.value.pid, 'SIGKILL');
    expect(await h.exitOf(r.value.pid)).toMatchObject({ code: null, signal: 'SIGKILL' });
  });
});
