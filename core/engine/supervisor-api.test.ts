/**
 * The supervisor's facade (supervisor.ts) over the fake ports: refusals that name what is
 * missing, workers wired to the engine (their workspace's envelope, their exits, its stop)
 * and the restore report's worker line.
 */

import { cmdSpec, FakeStore, fakes, ok, setup, wsSpec } from '../../testing/fakes.js';
import { MemoryQueue } from '../../testing/queue.js';
import type { WorkerSpec } from '../manifest/worker.js';
import { createSupervisor } from './supervisor.js';
import { workerKey } from './worker-host.js';

const workerSpec = (over: Partial<WorkerSpec> = {}): WorkerSpec => ({
  name: 'q',
  exec: '/bin/task',
  argv: [],
  envp: [],
  cwd: '',
  backoffMsInitial: 200,
  backoffMsMax: 1_000,
  timeoutMs: 0,
  crashLoopMax: 3,
  crashLoopWindowMs: 60_000,
  ...over,
});

const withQueue = (queue = new MemoryQueue()) =>
  setup(new FakeStore(), (f) => {
    f.ports.queue = queue;
  });

describe('refusals name what is missing', () => {
  it('answers a reference to no workspace, command or saved pipeline with not_found', async () => {
    const { sup } = setup();
    ok(sup.createWorkspace(wsSpec()));
    const nf = (message: string) => ({ ok: false, error: { code: 'not_found', message } });
    expect(sup.getWorkspace('x')).toEqual(nf('no workspace "x"'));
    expect(await sup.stopWorkspace('x', 0)).toEqual(nf('no workspace "x"'));
    expect(sup.quota('x')).toEqual(nf('no workspace "x"'));
    expect(sup.stats('x')).toEqual(nf('no workspace "x"'));
    expect(sup.runCommand('x', cmdSpec())).toEqual(nf('no workspace "x"'));
    expect(sup.listCommands('x')).toEqual(nf('no workspace "x"'));
    expect(sup.getCommand('x', 'c')).toEqual(nf('no workspace "x"'));
    expect(sup.getCommand('w', 'c')).toEqual(nf('no command "c" in "w"'));
    expect(await sup.restartCommand('w', 'c')).toEqual(nf('no command "c" in "w"'));
    expect(await sup.stopCommand('w', 'c', 0)).toEqual(nf('no command "c" in "w"'));
    expect(sup.getSavedPipeline('nope')).toEqual(nf('no saved pipeline "nope"'));
  });
});

describe('workers in the engine', () => {
  it('are unavailable without a queue store', () => {
    const { sup } = setup();
    ok(sup.createWorkspace(wsSpec()));
    expect(sup.workersAvailable).toBe(false);
    expect(sup.createWorker?.('w', workerSpec())).toMatchObject({
      ok: false,
      error: { code: 'unavailable' },
    });
  });

  it('need a running workspace', async () => {
    const { f, sup } = withQueue();
    expect(sup.workersAvailable).toBe(true);
    expect(sup.createWorker?.('x', workerSpec())).toEqual({
      ok: false,
      error: { code: 'not_found', message: 'no workspace "x"' },
    });
    ok(sup.createWorkspace(wsSpec()));
    const pid = ok(sup.runCommand('w', cmdSpec())).pid as number;
    f.kernel.ignoreTerm.add(pid);
    const stopping = sup.stopWorkspace('w', 1_000);
    expect(sup.createWorker?.('w', workerSpec())).toEqual({
      ok: false,
      error: {
        code: 'conflict',
        message: 'workspace "w" is stopping: workers need a running workspace',
      },
    });
    f.clock.advance(1_000);
    ok(await stopping);
  });

  it('run their tasks in the workspace’s envelope, see their exits and stop with it', async () => {
    const { f, sup } = withQueue();
    const ws = ok(sup.createWorkspace(wsSpec()));
    expect(
      ok(sup.createWorker?.('w', workerSpec()) ?? { ok: false, error: { message: '' } }),
    ).toMatchObject({ name: 'q', workspaceId: ws.id });
    const acks = [
      sup.pushTask?.('q', new Uint8Array([1])),
      sup.pushTask?.('q', new Uint8Array([2])),
    ];
    f.clock.advance(0);
    await Promise.all(acks);
    const [first] = f.kernel.pidsOf(workerKey('q'));
    expect(first).toBeDefined();
    f.kernel.exit(first as number, 0); // through the engine's exit hook
    expect(ok(sup.getWorker?.('q') ?? { ok: false, error: { message: '' } })).toMatchObject({
      done: 1,
      depth: 1,
    });
    expect(sup.listWorkers?.().map((w) => w.name)).toEqual(['q']);
    expect(sup.listTasks?.('q', { dead: false })).toMatchObject({ ok: true, value: [{}] });
    const second = f.kernel.pidsOf(workerKey('q'))[0] as number;
    f.kernel.ignoreTerm.add(second);
    const stopping = sup.stopWorkspace('w', 300);
    expect(f.kernel.signals).toContainEqual({ pid: second, signal: 'SIGTERM' });
    f.clock.advance(300);
    await stopping;
    expect(f.kernel.signals).toContainEqual({ pid: second, signal: 'SIGKILL' });
    expect(sup.retryTask?.('q', 'nope')).toMatchObject({ ok: false });
    expect(await sup.dropWorker?.('q', { force: true })).toEqual({ ok: true, value: true });
  });

  it('are named in the restore report, or why they were not loaded', () => {
    const queue = new MemoryQueue();
    const def = { ...workerSpec(), wsId: 'W', env: [], createdAtWallMs: 0 };
    queue.createWorker(def);
    queue.push([{ worker: 'q', id: 'T1', payload: new Uint8Array([1]), pushedAtWallMs: 0 }]);
    const f = fakes();
    f.ports.queue = queue;
    const sup = createSupervisor(f.ports, { sampleEveryMs: 1000, saveDelayMs: 200 });
    expect(sup.start().message).toMatch(/; 1 workers, 1 queued tasks$/);
    expect(() => sup.start()).toThrow('start() is called once');
    const failing = new MemoryQueue();
    failing.failNext.add('workers');
    const g = fakes();
    g.ports.queue = failing;
    const other = createSupervisor(g.ports, { sampleEveryMs: 1000, saveDelayMs: 200 });
    expect(other.start().message).toMatch(
      /; workers not loaded: workers failed \(injected\), 0 queued tasks$/,
    );
  });
});
