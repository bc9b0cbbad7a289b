/**
 * The read side (views.ts) through the supervisor's API: what `ls`, `status`, `quota`,
 * `stats` and `/healthz` show is counted from the engine's state, over the fake ports.
 */

import { caps, cmdSpec, ok, pipeSpec, setup, WALL_EPOCH_MS, wsSpec } from '../../testing/fakes.js';

describe('workspace view', () => {
  it('counts the commands alive and in total, and the running pipelines of its own', () => {
    const { f, sup } = setup();
    ok(sup.createWorkspace(wsSpec()));
    ok(sup.createWorkspace(wsSpec({ label: 'other' })));
    const a = ok(sup.runCommand('w', cmdSpec()));
    ok(sup.runCommand('w', cmdSpec()));
    ok(sup.runCommand('other', cmdSpec()));
    ok(sup.runPipeline(pipeSpec(), { tap: false }));
    f.kernel.exit(a.pid as number, 0); // unsupervised exit 0: done, still listed
    const view = ok(sup.getWorkspace('w'));
    expect(view).toMatchObject({ commandsAlive: 1, commandsTotal: 2, pipelines: 1 });
    expect(ok(sup.getWorkspace('other'))).toMatchObject({
      commandsAlive: 1,
      commandsTotal: 1,
      pipelines: 0,
    });
  });

  it('counts a pipeline that finished no more', () => {
    const { f, sup } = setup();
    ok(sup.createWorkspace(wsSpec()));
    const p = ok(sup.runPipeline(pipeSpec(), { tap: false }));
    expect(ok(sup.getWorkspace('w')).pipelines).toBe(1);
    for (const pid of f.kernel.pidsOf(p.id)) f.kernel.exit(pid, 0);
    expect(ok(sup.getWorkspace('w')).pipelines).toBe(0);
  });

  it('gives the uptime from the wall clock, never below 0, and a copy of its warnings', () => {
    const { f, sup } = setup();
    f.clock.advance(1_000);
    ok(sup.createWorkspace(wsSpec()));
    f.clock.advance(2_500);
    const view = ok(sup.getWorkspace('w'));
    expect(view.createdAtWallMs).toBe(WALL_EPOCH_MS + 1_000);
    expect(view.uptimeMs).toBe(2_500);
    view.warnings.push('changed by a reader');
    expect(ok(sup.getWorkspace('w')).warnings).not.toContain('changed by a reader');
  });
});

describe('quota and stats views', () => {
  it('names the limits, the enforcement and where usage is read from', () => {
    const { sup } = setup(undefined, (g) => {
      g.cgroups.current = caps(true);
    });
    const rlimits = { memBytes: 1 << 20, nproc: 5, nofile: 64 };
    const quotaEnforce = { mem: 'log', nproc: 'kill' } as const;
    ok(sup.createWorkspace(wsSpec({ rlimits, quotaEnforce })));
    ok(sup.createWorkspace(wsSpec({ label: 'cg', cgroupPath: 'cg', rlimits })));
    expect(ok(sup.quota('w'))).toMatchObject({
      limits: { memBytes: 1 << 20, nproc: 5, nofile: 64 },
      enforce: { mem: 'log', nproc: 'kill' },
      source: 'proc',
    });
    expect(ok(sup.quota('cg')).source).toBe('cgroup');
  });

  it('counts commands and pipeline nodes in total; CPU only while something is alive', () => {
    const { f, sup } = setup();
    ok(sup.createWorkspace(wsSpec()));
    const pid = ok(sup.runCommand('w', cmdSpec())).pid as number;
    const p = ok(sup.runPipeline(pipeSpec(), { tap: false }));
    f.kernel.stats = { alive: 3, rssBytes: 8192, cpuUs: 250_000 };
    f.clock.advance(1_000);
    f.kernel.stats = { alive: 3, rssBytes: 8192, cpuUs: 750_000 };
    f.clock.advance(1_000);
    const running = ok(sup.stats('w'));
    expect(running).toMatchObject({ commandsAlive: 3, commandsTotal: 3, cpuUs: 750_000 });
    expect(running.cpuPercent).toBe(50);
    expect(running.uptimeMs).toBe(2_000);
    f.kernel.exit(pid, 0);
    for (const node of f.kernel.pidsOf(p.id)) f.kernel.exit(node, 0);
    const idle = ok(sup.stats('w'));
    expect(idle).toMatchObject({ commandsAlive: 0, cpuPercent: 0, rssBytes: 0 });
    expect(idle.cpuUs).toBe(750_000); // the last sample's total stays
  });
});

describe('health view', () => {
  it('counts workspaces, live commands, running pipelines and their taps', () => {
    const { f, sup } = setup();
    expect(sup.health()).toEqual({ workspaces: 0, commandsAlive: 0, pipelines: 0, flows: 0 });
    ok(sup.createWorkspace(wsSpec()));
    ok(sup.createWorkspace(wsSpec({ label: 'x' })));
    const a = ok(sup.runCommand('w', cmdSpec()));
    ok(sup.runCommand('x', cmdSpec()));
    const p = ok(sup.runPipeline(pipeSpec(), { tap: false }));
    ok(sup.runPipeline(pipeSpec({ label: 'q' }), { tap: false }));
    f.kernel.exit(a.pid as number, 0);
    for (const pid of f.kernel.pidsOf(p.id)) f.kernel.exit(pid, 0);
    expect(sup.health()).toEqual({ workspaces: 2, commandsAlive: 1, pipelines: 1, flows: 0 });
  });
});
