/**
 * The worker host over test doubles: the in-memory queue (testing/queue.ts), a fake kernel
 * (or one derived from it, given), the simulator's clock, an envelope lookup the test can
 * block or change, and the lifecycle events it appended.
 */

import type { TaskLogs } from '../core/engine/api.js';
import { type EnvelopeLookup, WorkerHost, workerKey } from '../core/engine/worker-host.js';
import { noNamespaces } from '../core/manifest/defaults.js';
import type { WorkerSpec } from '../core/manifest/worker.js';
import type { Envelope, LifecycleEvent } from '../core/ports.js';
import { FakeClock, FakeIds, FakeKernel } from './fakes.js';
import { MemoryQueue } from './queue.js';

export const ENVELOPE: Envelope = {
  rlimits: { nofile: 0, nproc: 0 },
  namespaces: noNamespaces(),
  cgroup: null,
};

/** Worker `w` running `/bin/task`, crash-loop bound 2, backoff 200 ms doubling to 1 s. */
export const workerSpec = (over: Partial<WorkerSpec> = {}): WorkerSpec => ({
  name: 'w',
  exec: '/bin/task',
  argv: ['task'],
  envp: ['A=1'],
  cwd: '',
  backoffMsInitial: 200,
  backoffMsMax: 1_000,
  timeoutMs: 0,
  killGraceMs: 500,
  crashLoopMax: 2,
  crashLoopWindowMs: 60_000,
  ...over,
});

export interface RigOptions<K extends FakeKernel> {
  deferSync?: boolean;
  taskLogs?: TaskLogs;
  queue?: MemoryQueue;
  kernel?: K;
}

export function workerRig<K extends FakeKernel = FakeKernel>(options: RigOptions<K> = {}) {
  const clock = new FakeClock();
  const kernel = options.kernel ?? (new FakeKernel() as K);
  const queue = options.queue ?? new MemoryQueue({ deferSync: options.deferSync });
  const events: LifecycleEvent[] = [];
  let where: EnvelopeLookup = { ok: true, envelope: ENVELOPE };
  const host = new WorkerHost({
    clock,
    kernel,
    ids: new FakeIds(),
    queue,
    append: (e) => events.push(e),
    envelopeOf: () => where,
    taskLogs: options.taskLogs,
  });
  kernel.onEvent((e) => {
    if (e.type === 'exit') host.onExit(e.pid, e.code, e.signal, e.startFailed);
  });
  const evs = (ev: string) => events.filter((e) => e.ev === ev).map((e) => e.fields);
  const envOf = (i: number) => kernel.spawns[i]?.req.envp ?? [];
  /** The pid of worker `w`'s one running task. */
  const pidOf = () => kernel.pidsOf(workerKey('w'))[0] ?? -1;
  /** What `envelopeOf` answers from now on. */
  const setWhere = (lookup: EnvelopeLookup) => {
    where = lookup;
  };
  const block = (why: string) => setWhere({ ok: false, why });
  const unblock = () => setWhere({ ok: true, envelope: ENVELOPE });
  return { clock, kernel, queue, events, host, evs, envOf, pidOf, block, unblock, setWhere };
}
