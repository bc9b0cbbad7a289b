/**
 * The worker host over a kernel that can hold a process before its exec (`prepare`,
 * `start`, `abandon`): the next task is prepared while the current one runs and started
 * only when the step starts that very task and attempt; anything else abandons it.
 */

import { FakeKernel } from '../../testing/fakes.js';
import { ENVELOPE, workerRig, workerSpec } from '../../testing/worker-rig.js';
import type { PortResult, ProcRequest } from '../ports.js';

/** FakeKernel plus held processes: prepared ones wait in `held` until started. */
class HoldingKernel extends FakeKernel {
  readonly held = new Map<number, { key: string; req: ProcRequest }>();
  readonly prepares: { pid: number; req: ProcRequest }[] = [];
  readonly starts: number[] = [];
  readonly abandoned: number[] = [];
  private heldPid = 1000;

  prepare(key: string, req: ProcRequest): PortResult<{ pid: number }> {
    const pid = this.heldPid++;
    this.held.set(pid, { key, req });
    this.prepares.push({ pid, req });
    return { ok: true, value: { pid } };
  }
  start(pid: number): PortResult<{ pid: number }> {
    const h = this.held.get(pid);
    if (!h) throw new Error(`holding kernel: ${pid} is not held`);
    this.held.delete(pid);
    this.starts.push(pid);
    this.alive.set(pid, { key: h.key, exec: h.req.exec });
    this.spawns.push({ key: h.key, req: h.req });
    return { ok: true, value: { pid } };
  }
  abandon(pid: number): void {
    if (this.held.delete(pid)) this.abandoned.push(pid);
  }
  /** A held process dies at its gate (killed from outside). */
  dieHeld(pid: number): void {
    this.held.delete(pid);
    this.emit({ type: 'exit', pid, code: null, signal: 'SIGKILL' });
  }
  /** A started process failed its exec: it exits with the start's error. */
  failExec(pid: number, message: string): void {
    this.alive.delete(pid);
    this.emit({ type: 'exit', pid, code: 127, signal: null, startFailed: message });
  }
}

function rig() {
  const r = workerRig({ kernel: new HoldingKernel() });
  r.host.createWorker('ws', workerSpec({ envp: [], crashLoopMax: 5 }));
  const push = async (...payloads: string[]) => {
    const acks = payloads.map((p) => r.host.pushTask('w', new TextEncoder().encode(p)));
    r.clock.advance(0);
    return (await Promise.all(acks)).map((a) => (a.ok ? a.value.id : ''));
  };
  return { ...r, push, running: r.pidOf };
}

const envOf = (req: ProcRequest) => req.envp.filter((kv) => kv.startsWith('SHIPOTE_TASK_'));

describe('the next task, prepared while the current one runs', () => {
  it('prepares the next task with the attempt its start will record, and starts it', async () => {
    const r = rig();
    const [a, b, c] = await r.push('first', 'second', 'third');
    expect(r.kernel.spawns.map((s) => s.req.stdin)).toHaveLength(1); // a: a plain spawn
    expect(r.kernel.prepares).toHaveLength(1);
    const held = r.kernel.prepares[0]!;
    expect(envOf(held.req)).toEqual([`SHIPOTE_TASK_ID=${b}`, 'SHIPOTE_TASK_ATTEMPT=1']);
    expect(held.req.stdin).toEqual(new TextEncoder().encode('second'));
    expect(held.req.envelope).toBe(ENVELOPE);
    r.kernel.exit(r.running(), 0);
    // b runs as the held process, after a's completion and b's start were written.
    expect(r.kernel.starts).toEqual([held.pid]);
    expect(r.running()).toBe(held.pid);
    const writes = r.queue.writes.filter((w) => /^(startAttempt|complete) /.test(w));
    expect(writes).toEqual([`startAttempt w ${a}`, `complete w ${a}`, `startAttempt w ${b}`]);
    expect(r.evs('worker-task-start').map((f) => f.pid)).toEqual([100, held.pid]);
    // and c is prepared in its turn
    expect(envOf(r.kernel.prepares[1]!.req)).toEqual([
      `SHIPOTE_TASK_ID=${c}`,
      'SHIPOTE_TASK_ATTEMPT=1',
    ]);
    r.kernel.exit(r.running(), 0);
    r.kernel.exit(r.running(), 0);
    expect(r.evs('worker-task-done').map((f) => f.task)).toEqual([a, b, c]);
    expect(r.kernel.held.size).toBe(0);
    expect(r.kernel.abandoned).toEqual([]);
  });

  it('abandons it when the current task fails, and runs the failed one again', async () => {
    const r = rig();
    const [a] = await r.push('bad', 'next');
    const held = r.kernel.prepares[0]!.pid;
    r.kernel.exit(r.running(), 3);
    expect(r.kernel.abandoned).toEqual([held]);
    r.clock.advance(200);
    expect(r.kernel.starts).toEqual([]);
    expect(envOf(r.kernel.spawns[1]!.req)).toEqual([
      `SHIPOTE_TASK_ID=${a}`,
      'SHIPOTE_TASK_ATTEMPT=2',
    ]);
  });

  it('abandons it when the workspace stops, and on shutdown', async () => {
    const r = rig();
    await r.push('a', 'b');
    const first = r.kernel.prepares[0]!.pid;
    r.host.workspaceStopping('ws', 0);
    expect(r.kernel.abandoned).toEqual([first]);
    const s = rig();
    await s.push('a', 'b');
    s.host.shutdown();
    expect(s.kernel.abandoned).toEqual([s.kernel.prepares[0]!.pid]);
  });

  it('does not start it in another envelope than the one it was made in', async () => {
    const r = rig();
    await r.push('a', 'b');
    const held = r.kernel.prepares[0]!.pid;
    r.setWhere({ ok: true, envelope: { ...ENVELOPE, rlimits: { nofile: 64, nproc: 0 } } });
    r.kernel.exit(r.running(), 0);
    expect(r.kernel.abandoned).toEqual([held]);
    expect(r.kernel.starts).toEqual([]);
    expect(r.kernel.spawns[1]!.req.envelope.rlimits.nofile).toBe(64);
  });

  it('forgets one that died before its start and spawns the task instead', async () => {
    const r = rig();
    const [, b] = await r.push('a', 'b');
    const held = r.kernel.prepares[0]!.pid;
    r.kernel.dieHeld(held);
    expect(r.evs('worker-task-failed')).toEqual([]);
    r.kernel.exit(r.running(), 0);
    expect(r.kernel.starts).toEqual([]);
    expect(envOf(r.kernel.spawns[1]!.req)).toEqual([
      `SHIPOTE_TASK_ID=${b}`,
      'SHIPOTE_TASK_ATTEMPT=1',
    ]);
  });

  it('counts a started one whose exec failed as a failed spawn, not as an exit', async () => {
    const r = rig();
    const [, b] = await r.push('a', 'b');
    r.kernel.exit(r.running(), 0);
    r.kernel.failExec(r.running(), 'exec /bin/task: No such file or directory (ENOENT)');
    expect(r.evs('worker-task-failed')[0]).toMatchObject({ task: b, reason: 'spawn-failed' });
    const last = r.queue.counts.get('w')?.last;
    expect(last).toMatchObject({ reason: 'spawn-failed', code: null });
    expect(last?.stderrTail).toContain('No such file or directory');
  });
});
