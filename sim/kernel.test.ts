import { noNamespaces } from '../core/manifest/defaults.js';
import type { KernelEvent, ProcRequest } from '../core/ports.js';
import { SimWorld } from './world.js';

const request = (exec: string, argv: string[] = [], notify = false): ProcRequest => ({
  exec,
  argv,
  envp: [],
  cwd: '',
  notify,
  watchdogUs: 0,
  envelope: {
    rlimits: { nofile: 0, nproc: 0 },
    namespaces: noNamespaces(),
    cgroup: null,
  },
});

function setup() {
  const world = new SimWorld({ seed: 1, faults: false, trace: false });
  const kernel = world.kernel.port(0);
  const events: KernelEvent[] = [];
  kernel.onEvent((e) => events.push(e));
  return { world, kernel, events };
}

function spawnPid(kernel: ReturnType<typeof setup>['kernel'], req: ProcRequest): number {
  const result = kernel.spawn('k', req);
  if (!result.ok) throw new Error(result.error.message);
  return result.value.pid;
}

describe('SimKernel', () => {
  it('reports a missing binary as NotFound at once, not as a process that dies', () => {
    const { kernel, world } = setup();
    const result = kernel.spawn('k', request('/no/such/binary'));
    expect(result).toMatchObject({
      ok: false,
      error: { reason: 'NotFound', errno: 2, syscall: 'execve' },
    });
    expect(world.kernel.live.size).toBe(0);
  });

  it('delivers the scripted exit through the listener when it is due, never synchronously', () => {
    const { kernel, world, events } = setup();
    const pid = spawnPid(kernel, request('sim:exit', ['100', '3']));
    world.clock.advance(99);
    expect(events).toEqual([]);
    world.clock.advance(1);
    expect(events).toEqual([{ type: 'exit', pid, code: 3, signal: null }]);
  });

  it.each([
    ['sim:forever', 'SIGTERM', { code: null, signal: 'SIGTERM' }],
    ['sim:ignore-term', 'SIGKILL', { code: null, signal: 'SIGKILL' }],
  ] as const)('%s dies of %s', (exec, signal, exit) => {
    const { kernel, world, events } = setup();
    const pid = spawnPid(kernel, request(exec));
    kernel.signal(pid, signal);
    expect(events).toEqual([]);
    world.clock.advance(0);
    expect(events).toEqual([{ type: 'exit', pid, ...exit }]);
  });

  it('lets an ignore-term process survive SIGTERM', () => {
    const { kernel, world } = setup();
    const pid = spawnPid(kernel, request('sim:ignore-term'));
    kernel.signal(pid, 'SIGTERM');
    world.clock.advance(10_000);
    expect(world.kernel.procs.get(pid)?.alive).toBe(true);
  });
});

describe('SimKernel process trees, notify, groups and daemon death', () => {
  it('counts forked children in sample() and kills them with their root', () => {
    const { kernel, world } = setup();
    const pid = spawnPid(kernel, request('sim:fork', ['3']));
    expect(kernel.sample([pid]).alive).toBe(1); // it forks 1 ms after it starts
    world.clock.advance(1);
    expect(kernel.sample([pid]).alive).toBe(4);
    kernel.signal(pid, 'SIGKILL');
    expect(world.kernel.live.size).toBe(0);
    expect(kernel.sample([pid])).toEqual({ alive: 0, rssBytes: 0, cpuUs: 0 });
  });

  it('sends READY=1 and watchdog pings to a notify process until it hangs', () => {
    const { kernel, world, events } = setup();
    const pid = spawnPid(kernel, request('sim:notify', ['50', '100', '300'], true));
    world.clock.advance(1000);
    const messages = events.filter((e) => e.type === 'notify' && e.pid === pid);
    expect(messages.map((e) => (e.type === 'notify' ? e.message : ''))).toEqual([
      'READY=1',
      'WATCHDOG=1',
      'WATCHDOG=1',
    ]);
  });

  it('starts a group atomically: one missing node leaves nothing running', () => {
    const { kernel, world } = setup();
    const result = kernel.spawnGroup('g', {
      nodes: [request('sim:forever'), request('sim:fork', ['2']), request('/missing')],
      edges: [],
      taps: [],
      maxBytesPerSec: 0,
    });
    expect(result.ok).toBe(false);
    expect(world.kernel.live.size).toBe(0);
  });

  it('kills every root of a crashed daemon and reports none of the deaths', () => {
    const { kernel, world, events } = setup();
    spawnPid(kernel, request('sim:forever'));
    spawnPid(kernel, request('sim:ignore-term'));
    world.crash(0);
    world.clock.advance(1000);
    expect(world.kernel.live.size).toBe(0);
    expect(events).toEqual([]);
    expect(kernel.spawn('k', request('sim:forever')).ok).toBe(false);
  });

  it("orphans a crashed daemon's forked processes until the next start's sweep", () => {
    const { kernel, world } = setup();
    const root = spawnPid(kernel, request('sim:fork', ['3']));
    world.clock.advance(1); // forked: one in the group, one setsid, one with a cleared env
    world.crash(0);
    const orphans = [...world.kernel.live];
    expect(orphans.map((p) => [p.ppid, p.pgid === root, p.marked])).toEqual([
      [1, true, true],
      [1, false, true],
      [1, true, false],
    ]);
    expect(world.kernel.sweep()).toBe(3);
    expect(world.kernel.live.size).toBe(0);
  });

  it('a daemon killed before its root forked leaves nothing behind', () => {
    const { kernel, world } = setup();
    spawnPid(kernel, request('sim:fork', ['3']));
    world.crash(0); // the same instant: nothing forked yet
    world.clock.advance(10);
    expect(world.kernel.live.size).toBe(0);
    expect(world.kernel.sweep()).toBe(0);
  });
});
