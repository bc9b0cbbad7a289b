/**
 * The daemon's stop at its edges: no grace at all, a child that outlives SIGKILL, a
 * pipeline waiting in backoff, the events it logs.
 */

import { cmdSpec, type Fakes, ok, pipeSpec, setup, wsSpec } from '../../testing/fakes.js';
import { KILL_WAIT_MS } from './shutdown.js';

/** `pid` survives every signal, as a process stuck in the kernel (D state) does. */
function unkillable(f: Fakes, pid: number): void {
  const signal = f.kernel.signal.bind(f.kernel);
  f.kernel.signal = (p, s) => {
    if (p === pid) f.kernel.signals.push({ pid: p, signal: s });
    else signal(p, s);
  };
}

describe('daemon shutdown, edges', () => {
  it('with no grace KILLs at once, never TERMs', async () => {
    const { f, sup } = setup();
    ok(sup.createWorkspace(wsSpec()));
    const a = ok(sup.runCommand('w', cmdSpec({ label: 'a' }))).pid as number;
    const b = ok(sup.runCommand('w', cmdSpec({ label: 'b', restart: 'always' }))).pid as number;
    const r = await sup.shutdown(0);
    expect(r).toEqual({ ok: true, value: { reaped: 2 } });
    expect(f.kernel.signals).toEqual([
      { pid: a, signal: 'SIGKILL' },
      { pid: b, signal: 'SIGKILL' },
    ]);
    const logged = f.eventLog.named('daemon-shutdown').map((e) => e.fields);
    expect(logged).toEqual([{ grace_ms: 0, alive: 2 }]);
  });

  it('gives up on a child that outlives SIGKILL, KILL_WAIT_MS after the kill', async () => {
    const { f, sup } = setup();
    ok(sup.createWorkspace(wsSpec()));
    const gone = ok(sup.runCommand('w', cmdSpec({ label: 'gone' }))).pid as number;
    const stuck = ok(sup.runCommand('w', cmdSpec({ label: 'stuck' }))).pid as number;
    unkillable(f, stuck);
    let settled = false;
    const done = sup.shutdown(300).then((r) => {
      settled = true;
      return r;
    });
    expect(f.kernel.signals).toEqual([
      { pid: gone, signal: 'SIGTERM' },
      { pid: stuck, signal: 'SIGTERM' },
    ]);
    f.clock.advance(300);
    expect(f.kernel.signals.slice(2)).toEqual([{ pid: stuck, signal: 'SIGKILL' }]);
    f.clock.advance(KILL_WAIT_MS - 1);
    await Promise.resolve();
    expect(settled).toBe(false);
    expect(f.eventLog.named('daemon-shutdown-abandoned')).toEqual([]);
    f.clock.advance(1);
    expect(await done).toEqual({ ok: true, value: { reaped: 1 } });
    const abandoned = f.eventLog.named('daemon-shutdown-abandoned').map((e) => e.fields);
    expect(abandoned).toEqual([{ alive: 1 }]);
    // Settled: a late death changes nothing, and no timer is left behind.
    f.kernel.exit(stuck, null, 'SIGKILL');
    expect(await sup.shutdown(300)).toEqual({ ok: true, value: { reaped: 1 } });
  });

  it('does not restart a pipeline waiting in backoff', async () => {
    const { f, sup } = setup();
    ok(sup.createWorkspace(wsSpec()));
    const restart = { ...pipeSpec().restart, restartOnFailure: true };
    const p = ok(sup.runPipeline(pipeSpec({ restart }), { tap: false, source: 'x' }));
    for (const pid of f.kernel.pidsOf(p.id)) f.kernel.exit(pid, 1);
    expect(ok(sup.getPipeline(p.id)).state).toBe('backoff');
    const groups = f.kernel.groups.length;
    expect(await sup.shutdown(100)).toEqual({ ok: true, value: { reaped: 0 } });
    f.clock.advance(60_000);
    expect(f.kernel.groups).toHaveLength(groups);
  });

  it('counts what is alive when it begins', async () => {
    const { f, sup } = setup();
    ok(sup.createWorkspace(wsSpec()));
    ok(sup.runCommand('w', cmdSpec({ label: 'a' })));
    const r = sup.shutdown(50);
    expect(f.eventLog.named('daemon-shutdown').map((e) => e.fields)).toEqual([
      { grace_ms: 50, alive: 1 },
    ]);
    expect(await r).toEqual({ ok: true, value: { reaped: 1 } });
  });

  it('refuses a grace that is not a non-negative integer; a later stop still stops', async () => {
    const { f, sup } = setup();
    ok(sup.createWorkspace(wsSpec()));
    const pid = ok(sup.runCommand('w', cmdSpec({ label: 'a' }))).pid as number;
    const refused = await sup.shutdown(-1);
    expect(refused).toEqual({
      ok: false,
      error: {
        code: 'invalid',
        field: 'grace',
        message: 'grace must be a non-negative integer of ms, got -1',
      },
    });
    expect(f.kernel.signals).toEqual([]);
    // Nothing began: changes are still written, and a valid stop does stop.
    const writes = f.store.writes;
    ok(sup.createWorkspace(wsSpec({ label: 'other' })));
    expect(f.store.writes).toBe(writes + 1);
    expect(await sup.shutdown(0)).toEqual({ ok: true, value: { reaped: 1 } });
    expect(f.kernel.signals).toEqual([{ pid, signal: 'SIGKILL' }]);
  });
});
