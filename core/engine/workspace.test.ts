import { caps, cmdSpec, fakes, ok, setup, wsSpec } from '../../testing/fakes.js';
import { createSupervisor } from './supervisor.js';

describe('workspaces', () => {
  it('creates a workspace addressed by id or label, and refuses a duplicate label', () => {
    const { sup } = setup();
    const { id, warnings } = ok(sup.createWorkspace(wsSpec({ label: 'strict' })));
    expect(warnings).toEqual([]);
    expect(ok(sup.getWorkspace('strict')).id).toBe(id);
    expect(ok(sup.getWorkspace(id)).label).toBe('strict');
    const dup = sup.createWorkspace(wsSpec({ label: 'strict' }));
    expect(dup.ok ? null : dup.error.code).toBe('conflict');
  });

  it('warns when a cgroup or user namespaces are asked for and the host lacks them', () => {
    const { f, sup } = setup(undefined, (g) => {
      g.cgroups.current = caps(false, false);
    });
    const ns = { ...wsSpec().namespaces, user: true };
    const r = ok(sup.createWorkspace(wsSpec({ cgroupPath: 'shipote/b', namespaces: ns })));
    expect(r.warnings).toEqual([
      'cgroup not delegated: limits are accounted, not enforced',
      'user namespaces unavailable',
    ]);
    ok(sup.runCommand('w', cmdSpec()));
    expect(f.kernel.spawns[0]?.req.envelope.namespaces.user).toBe(false);
    expect(f.cgroups.created).toEqual([]);
  });

  it('refuses a cgroup path that escapes the daemon subtree', () => {
    const { sup } = setup();
    const r = sup.createWorkspace(wsSpec({ cgroupPath: '../escape' }));
    expect(r.ok ? null : r.error).toMatchObject({ code: 'invalid', field: 'soma.cgroup.path' });
  });

  it('places commands in the cgroup when delegation is available', () => {
    const { f, sup } = setup(undefined, (g) => {
      g.cgroups.current = caps(true);
    });
    ok(sup.createWorkspace(wsSpec({ cgroupPath: 'shipote/b' })));
    ok(sup.runCommand('w', cmdSpec()));
    expect(f.kernel.spawns[0]?.req.envelope.cgroup).toBe('cg:shipote/b');
    expect(ok(sup.quota('w')).source).toBe('cgroup');
  });
});

describe('workspace stop', () => {
  it('stops with SIGTERM, waits the grace, SIGKILLs, and resolves with the count', async () => {
    const { f, sup } = setup();
    ok(sup.createWorkspace(wsSpec()));
    const a = ok(sup.runCommand('w', cmdSpec())).pid as number;
    const b = ok(sup.runCommand('w', cmdSpec())).pid as number;
    f.kernel.ignoreTerm.add(b);
    let settled: unknown = null;
    const done = sup.stopWorkspace('w', 500).then((r) => {
      settled = r;
    });
    await Promise.resolve();
    expect(f.kernel.signals).toEqual([
      { pid: a, signal: 'SIGTERM' },
      { pid: b, signal: 'SIGTERM' },
    ]);
    expect(settled).toBeNull();
    f.clock.advance(499);
    await Promise.resolve();
    expect(settled).toBeNull();
    f.clock.advance(1);
    await done;
    expect(f.kernel.signals[2]).toEqual({ pid: b, signal: 'SIGKILL' });
    expect(settled).toEqual({ ok: true, value: { reaped: 2 } });
    expect(sup.getWorkspace('w').ok).toBe(false);
  });

  it('grace 0 sends SIGKILL at once', async () => {
    const { f, sup } = setup();
    ok(sup.createWorkspace(wsSpec()));
    const pid = ok(sup.runCommand('w', cmdSpec())).pid;
    expect(await sup.stopWorkspace('w', 0)).toEqual({ ok: true, value: { reaped: 1 } });
    expect(f.kernel.signals).toEqual([{ pid, signal: 'SIGKILL' }]);
  });

  it('stops itself when its TTL expires, with the default grace of 1000 ms', () => {
    const { f, sup } = setup();
    ok(sup.createWorkspace(wsSpec({ ttlMs: 3000 })));
    const pid = ok(sup.runCommand('w', cmdSpec())).pid as number;
    f.kernel.ignoreTerm.add(pid);
    f.clock.advance(2999);
    expect(f.kernel.signals).toEqual([]);
    f.clock.advance(1);
    expect(f.kernel.signals).toEqual([{ pid, signal: 'SIGTERM' }]);
    expect(f.eventLog.named('ttl')).toHaveLength(1);
    f.clock.advance(1000);
    expect(f.kernel.signals[1]).toEqual({ pid, signal: 'SIGKILL' });
    expect(sup.listWorkspaces()).toEqual([]);
  });
});

describe('workspace cgroups', () => {
  it('kills through the cgroup too when stopping with grace 0, and removes it after', async () => {
    const { f, sup } = setup(undefined, (g) => {
      g.cgroups.current = caps(true);
    });
    ok(sup.createWorkspace(wsSpec({ cgroupPath: 'shipote/b' })));
    ok(sup.runCommand('w', cmdSpec()));
    await sup.stopWorkspace('w', 0);
    expect(f.cgroups.killed).toEqual(['cg:shipote/b', 'cg:shipote/b']);
    expect(f.cgroups.removed).toEqual(['cg:shipote/b']);
  });

  it('drops a restored workspace whose TTL ran out while the daemon was down', () => {
    const first = setup();
    ok(first.sup.createWorkspace(wsSpec({ ttlMs: 1000 })));
    const store = first.f.store;
    const f = fakes(store);
    f.clock.now = 5000; // wall clock moved past the TTL
    const sup = createSupervisor(f.ports);
    sup.start();
    expect(sup.listWorkspaces().map((w) => w.label)).toEqual(['w']);
    f.clock.advance(0);
    expect(sup.listWorkspaces()).toEqual([]);
  });
});

it('brings the SIGKILL forward when a second stop asks for a shorter grace', async () => {
  const { f, sup } = setup();
  ok(sup.createWorkspace(wsSpec({ ttlMs: 100 })));
  const pid = ok(sup.runCommand('w', cmdSpec())).pid as number;
  f.kernel.ignoreTerm.add(pid);
  f.clock.advance(100); // TTL stop: grace 1000
  const stopped = sup.stopWorkspace('w', 50);
  f.clock.advance(49);
  expect(f.kernel.signals).toEqual([{ pid, signal: 'SIGTERM' }]);
  f.clock.advance(1);
  expect(f.kernel.signals[1]).toEqual({ pid, signal: 'SIGKILL' });
  expect(await stopped).toEqual({ ok: true, value: { reaped: 1 } });
});
