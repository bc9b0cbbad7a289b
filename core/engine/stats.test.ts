import { caps, cmdSpec, ok, setup, wsSpec } from '../../testing/fakes.js';

describe('quota', () => {
  it('logs a breach once and keeps running under enforce=log', () => {
    const { f, sup } = setup();
    const limits = { memBytes: 10 * 1024 * 1024, nproc: 2, nofile: 0 };
    ok(
      sup.createWorkspace(wsSpec({ rlimits: limits, quotaEnforce: { mem: 'log', nproc: 'log' } })),
    );
    ok(sup.runCommand('w', cmdSpec()));
    f.kernel.stats = { alive: 3, rssBytes: 12 * 1024 * 1024, cpuUs: 5000 };
    f.clock.advance(3000);
    expect(ok(sup.quota('w')).breaches).toEqual([
      'memory: 12.00 MiB > 10.00 MiB limit',
      'nproc: 3 alive > 2 limit',
    ]);
    expect(f.eventLog.named('quota-breach')).toHaveLength(1);
    expect(ok(sup.getWorkspace('w')).state).toBe('running');
  });

  it('stops the workspace with grace 0 within one tick under enforce=kill', () => {
    const { f, sup } = setup();
    const limits = { memBytes: 0, nproc: 2, nofile: 0 };
    ok(
      sup.createWorkspace(
        wsSpec({ rlimits: limits, quotaEnforce: { mem: 'none', nproc: 'kill' } }),
      ),
    );
    const pid = ok(sup.runCommand('w', cmdSpec())).pid;
    f.kernel.stats = { alive: 3, rssBytes: 0, cpuUs: 0 };
    f.clock.advance(1000);
    expect(f.kernel.signals).toEqual([{ pid, signal: 'SIGKILL' }]);
    expect(f.eventLog.named('quota-kill')[0]?.fields.breach).toBe('nproc: 3 alive > 2 limit');
    expect(sup.listWorkspaces()).toEqual([]);
  });

  it('reports an OOM kill seen in the cgroup as an oom event naming the command', () => {
    const { f, sup } = setup(undefined, (g) => {
      g.cgroups.current = caps(true);
    });
    ok(
      sup.createWorkspace(
        wsSpec({ cgroupPath: 'b', rlimits: { memBytes: 1 << 20, nproc: 0, nofile: 0 } }),
      ),
    );
    const view = ok(sup.runCommand('w', cmdSpec()));
    f.cgroups.stat = { ...f.cgroups.stat, oomKills: 1 };
    f.kernel.exit(view.pid as number, null, 'SIGKILL');
    expect(f.eventLog.named('oom')[0]?.fields).toMatchObject({ cmd: view.id, oom_kills: 1 });
  });
});

describe('stats', () => {
  it('computes CPU per-mille between samples and keeps the last 64', () => {
    const { f, sup } = setup();
    ok(sup.createWorkspace(wsSpec()));
    ok(sup.runCommand('w', cmdSpec()));
    for (let i = 1; i <= 70; i++) {
      f.kernel.stats = { alive: 1, rssBytes: 1000 * i, cpuUs: 500_000 * i };
      f.clock.advance(1000);
    }
    const s = ok(sup.stats('w'));
    expect(s.history).toHaveLength(64);
    expect(s.history[63]).toMatchObject({ rssBytes: 70_000, cpuPermille: 500 });
    expect(s).toMatchObject({
      cpuPercent: 50,
      rssBytes: 70_000,
      rssPeakBytes: 70_000,
      source: 'proc',
    });
  });

  it('reports no usage once nothing is alive', () => {
    const { f, sup } = setup();
    ok(sup.createWorkspace(wsSpec()));
    const pid = ok(sup.runCommand('w', cmdSpec())).pid as number;
    f.kernel.stats = { alive: 1, rssBytes: 4096, cpuUs: 1 };
    f.clock.advance(1000);
    f.kernel.exit(pid, 0);
    expect(ok(sup.quota('w')).usage).toEqual({ memBytes: 0, nprocAlive: 0 });
    expect(ok(sup.stats('w')).rssPeakBytes).toBe(4096);
  });
});
