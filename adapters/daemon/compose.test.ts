import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { workspaceSpec } from '../../core/manifest/defaults.js';
import type { LifecycleEvent } from '../../core/ports.js';
import { simEngine } from '../../testing/engine.js';
import { textLogSource } from '../../testing/fixtures/control.js';
import { requestJson } from '../control/client.js';
import { coreSpecParsers } from '../control/specs.js';
import { startDaemon } from './compose.js';
import type { Notifier } from './notify.js';

const workspace = workspaceSpec({ label: 'w' });

const command = {
  exec: '/bin/sleep',
  argv: ['60'],
  envp: [],
  cwd: '',
  label: '',
  restartOnFailure: false,
  ready: 'exec' as const,
  watchdogMs: 0,
};

describe('startDaemon', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'shipote-compose-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('serves after restore, says READY; on shutdown says STOPPING, flushes, signals', async () => {
    const engine = simEngine({ start: false }); // startDaemon restores
    const stopPump = engine.pump();
    const sup = engine.sup;
    const calls: string[] = [];
    const flush = sup.flush.bind(sup);
    sup.flush = () => {
      calls.push('flush');
      flush();
    };
    const notifier: Notifier = {
      active: true,
      send: async (m) => void calls.push(`notify ${m.split('\n')[0]}`),
      startWatchdog: () => () => void calls.push('watchdog stopped'),
    };
    const events: LifecycleEvent[] = [];
    const socketPath = join(dir, 'd.sock');
    const daemon = await startDaemon({
      supervisor: sup,
      notifier,
      control: {
        specs: coreSpecParsers,
        logs: textLogSource(new Map(), new Set()),
        flows: () => [],
        caps: () => ({}),
        history: () => [],
        statePath: join(dir, 'state.json'),
        socketPath,
        nowMs: () => 0,
        startedAtMs: 0,
      },
      socketPath,
      log: () => {},
      appendEvent: (e) => events.push(e),
      wallMs: () => 7,
    });
    expect(daemon.report.outcome).toBe('fresh');
    expect((await requestJson(socketPath, 'GET', '/v1/health')).status).toBe(200);
    sup.createWorkspace(workspace);
    const run = sup.runCommand('w', command);
    const pid = run.ok ? run.value.pid : null;
    expect(pid).toEqual(expect.any(Number));
    await Promise.all([daemon.shutdown('SIGTERM'), daemon.shutdown('again')]);
    expect(calls).toEqual(['notify READY=1', 'notify STOPPING=1', 'watchdog stopped', 'flush']);
    // The simulator's `sleep` dies of SIGTERM: the engine's shutdown ended it.
    expect([...engine.kernel.live].map((p) => p.pid)).toEqual([]);
    expect(engine.eventLog.events.filter((e) => e.ev === 'daemon-shutdown')).toHaveLength(1);
    expect(events.map((e) => e.ev)).toEqual(['daemon-start', 'daemon-stop']);
    await expect(requestJson(socketPath, 'GET', '/v1/health')).rejects.toThrow(/not reachable/);
    stopPump();
  });
});
