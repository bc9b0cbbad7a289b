import { cmdSpec, type Fakes, fakes, ok, wsSpec } from '../../testing/fakes.js';
import type { SupervisorOptions } from './api.js';
import { createSupervisor } from './supervisor.js';

const slow: SupervisorOptions = { sampleEveryMs: 1000, statsEveryMs: 10_000, saveDelayMs: 200 };

/** A supervisor with a slow stats cadence, recording when the kernel is sampled. */
function slowSetup(options: SupervisorOptions = slow) {
  const f: Fakes = fakes();
  const sampledAtMs: number[] = [];
  const samples: { atMs: number; pids: number[] }[] = [];
  const sample = f.kernel.sample.bind(f.kernel);
  f.kernel.sample = (pids) => {
    sampledAtMs.push(f.clock.nowMs());
    samples.push({ atMs: f.clock.nowMs(), pids });
    return sample(pids);
  };
  const sup = createSupervisor(f.ports, options);
  sup.start();
  return { f, sup, sampledAtMs, samples };
}

const killNproc = {
  rlimits: { memBytes: 0, nproc: 2, nofile: 0 },
  quotaEnforce: { mem: 'none', nproc: 'kill' },
} as const;

describe('sampling cadence', () => {
  it('samples a workspace without enforced limits once per statsEveryMs', () => {
    const { f, sup, sampledAtMs } = slowSetup();
    ok(sup.createWorkspace(wsSpec()));
    for (let i = 0; i < 10; i++) ok(sup.runCommand('w', cmdSpec()));
    f.clock.advance(30_000);
    expect(sampledAtMs).toEqual([10_000, 20_000, 30_000]);
    expect(ok(sup.stats('w')).history).toHaveLength(3);
  });

  it('with statsEveryMs 0, samples sleeping commands only when stats are asked', () => {
    const { f, sup, sampledAtMs } = slowSetup({ ...slow, statsEveryMs: 0 });
    ok(sup.createWorkspace(wsSpec()));
    for (let i = 0; i < 10; i++) ok(sup.runCommand('w', cmdSpec()));
    f.clock.advance(120_000);
    expect(sampledAtMs).toEqual([]);
    expect(f.clock.pending()).toBe(0);
    expect(ok(sup.stats('w')).history).toHaveLength(1);
    f.clock.advance(5000);
    expect(ok(sup.stats('w')).history).toHaveLength(2);
    expect(sampledAtMs).toEqual([120_000, 125_000]);
  });

  it('with statsEveryMs 0, keeps the quota tick for a workspace with an enforced limit', () => {
    const { f, sup, samples } = slowSetup({ ...slow, statsEveryMs: 0 });
    ok(sup.createWorkspace(wsSpec({ label: 'free' })));
    ok(sup.createWorkspace(wsSpec({ ...killNproc, label: 'strict' })));
    const free = ok(sup.runCommand('free', cmdSpec())).pid as number;
    const strict = ok(sup.runCommand('strict', cmdSpec())).pid as number;
    f.clock.advance(3000);
    const at = (pid: number) => samples.filter((s) => s.pids.includes(pid)).map((s) => s.atMs);
    expect(at(strict)).toEqual([1000, 2000, 3000]);
    expect(at(free)).toEqual([]);
  });

  it('keeps the quota tick at sampleEveryMs for a workspace with an enforced limit', () => {
    const { f, sup, sampledAtMs } = slowSetup();
    ok(sup.createWorkspace(wsSpec(killNproc)));
    const pid = ok(sup.runCommand('w', cmdSpec())).pid;
    f.clock.advance(3000);
    expect(sampledAtMs).toEqual([1000, 2000, 3000]);
    f.kernel.stats = { alive: 3, rssBytes: 0, cpuUs: 0 };
    f.clock.advance(1000);
    expect(f.kernel.signals).toEqual([{ pid, signal: 'SIGKILL' }]);
    expect(f.eventLog.named('quota-kill')).toHaveLength(1);
  });

  it('ticks at sampleEveryMs only for the enforced workspace beside an unlimited one', () => {
    const { f, sup, samples } = slowSetup();
    ok(sup.createWorkspace(wsSpec({ label: 'free' })));
    ok(sup.createWorkspace(wsSpec({ ...killNproc, label: 'strict' })));
    const free = ok(sup.runCommand('free', cmdSpec())).pid as number;
    const strict = ok(sup.runCommand('strict', cmdSpec())).pid as number;
    f.clock.advance(12_000);
    const at = (pid: number) => samples.filter((s) => s.pids.includes(pid)).map((s) => s.atMs);
    expect(at(strict)).toHaveLength(12);
    // Never sampled: it joins the first tick; then once per statsEveryMs.
    expect(at(free)).toEqual([1000, 11_000]);
  });

  it('samples on demand when stats or quota is asked, at most once per sampleEveryMs', () => {
    const { f, sup, sampledAtMs } = slowSetup();
    ok(sup.createWorkspace(wsSpec()));
    ok(sup.runCommand('w', cmdSpec()));
    f.kernel.stats = { alive: 1, rssBytes: 8192, cpuUs: 3_000_000 };
    f.clock.advance(3000);
    expect(ok(sup.stats('w'))).toMatchObject({ rssBytes: 8192, source: 'proc' });
    expect(ok(sup.quota('w')).usage).toEqual({ memBytes: 8192, nprocAlive: 1 });
    f.clock.advance(999);
    ok(sup.stats('w'));
    expect(sampledAtMs).toEqual([3000]);
    f.clock.advance(1);
    expect(ok(sup.stats('w')).history).toHaveLength(2);
  });

  it('arms no timer once nothing is alive and the last stats are saved', () => {
    const { f, sup } = slowSetup();
    ok(sup.createWorkspace(wsSpec()));
    const pid = ok(sup.runCommand('w', cmdSpec())).pid as number;
    f.clock.advance(10_000);
    f.kernel.exit(pid, 0);
    f.clock.advance(60_000);
    expect(f.clock.pending()).toBe(0);
  });

  it('saves stats-only changes about once a minute, from a tick, not saveDelayMs later', () => {
    const { f, sup } = slowSetup();
    ok(sup.createWorkspace(wsSpec()));
    const pid = ok(sup.runCommand('w', cmdSpec())).pid as number;
    f.kernel.stats = { alive: 1, rssBytes: 4096, cpuUs: 10 };
    const writes = f.store.writes;
    f.clock.advance(59_999);
    expect(f.store.writes).toBe(writes);
    f.clock.advance(1);
    expect(f.store.writes).toBe(writes + 1);
    expect(f.store.text).toMatch(/"rssBytes": ?4096/);
    // Nothing alive any more: the last sample is still saved, by the save timer itself.
    f.kernel.stats = { alive: 1, rssBytes: 8192, cpuUs: 20 };
    f.clock.advance(10_000);
    f.kernel.exit(pid, 0);
    f.clock.advance(60_001);
    expect(f.store.text).toMatch(/"rssBytes": ?8192/);
  });
});
