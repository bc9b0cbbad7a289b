import { noNamespaces } from '../core/manifest/defaults.js';
import type { ProcRequest } from '../core/ports.js';
import { SimWorld } from './world.js';

/** A seed whose drawn caps say the cgroup is delegated (found by trying). */
function delegatedWorld(): SimWorld {
  for (let seed = 1; seed < 100; seed++) {
    const world = new SimWorld({ seed, faults: false, trace: false });
    if (world.cgroups.caps().delegated) return world;
  }
  throw new Error('no delegated seed below 100');
}

const inCgroup = (exec: string, argv: string[], cgroup: string): ProcRequest => ({
  exec,
  argv,
  envp: [],
  cwd: '',
  notify: false,
  watchdogUs: 0,
  envelope: {
    rlimits: { nofile: 0, nproc: 0 },
    namespaces: noNamespaces(),
    cgroup,
  },
});

describe('SimCgroups', () => {
  it('OOM-kills the biggest process once memory passes the limit and counts it', () => {
    const world = delegatedWorld();
    const created = world.cgroups.create('shipote/a', { memBytes: 4 << 20, pids: 0 });
    if (!created.ok) throw new Error(created.error.message);
    const handle = created.value.handle;
    const kernel = world.kernel.port(0);
    const small = kernel.spawn('s', inCgroup('sim:forever', [], handle));
    const big = kernel.spawn('b', inCgroup('sim:grow-mem', ['4096'], handle));
    if (!small.ok || !big.ok) throw new Error('spawn failed');
    world.clock.advance(2000);
    expect(world.kernel.procs.get(big.value.pid)?.oomKilled).toBe(true);
    expect(world.kernel.procs.get(small.value.pid)?.alive).toBe(true);
    expect(world.cgroups.stats(handle)).toMatchObject({
      ok: true,
      value: { oomKills: 1, pids: 1 },
    });
  });

  it('refuses a spawn and a fork over the pids limit', () => {
    const world = delegatedWorld();
    const created = world.cgroups.create('shipote/b', { memBytes: 0, pids: 2 });
    if (!created.ok) throw new Error(created.error.message);
    const kernel = world.kernel.port(0);
    const forker = kernel.spawn('f', inCgroup('sim:fork', ['5'], created.value.handle));
    expect(forker.ok).toBe(true);
    world.clock.advance(1); // it forks 1 ms after it starts: one child fits
    expect(world.kernel.live.size).toBe(2);
    const third = kernel.spawn('t', inCgroup('sim:forever', [], created.value.handle));
    expect(third).toMatchObject({ ok: false, error: { reason: 'Busy', errno: 11 } });
  });

  it('refuses to create a cgroup when the seed drew a non-delegated host', () => {
    for (let seed = 1; seed < 100; seed++) {
      const world = new SimWorld({ seed, faults: false, trace: false });
      if (world.cgroups.caps().delegated) continue;
      const result = world.cgroups.create('shipote/c', { memBytes: 0, pids: 0 });
      expect(result).toMatchObject({ ok: false, error: { reason: 'PermissionDenied' } });
      return;
    }
    throw new Error('no non-delegated seed below 100');
  });
});
