import { workspaceSpec } from '../core/manifest/defaults.js';
import { simEngine } from './engine.js';

const sleep = (argv: string[], exec = '/bin/sleep') => ({
  exec,
  argv,
  envp: [],
  cwd: '',
  label: '',
  restartOnFailure: false,
  ready: 'exec' as const,
  watchdogMs: 0,
});

describe('the real engine over the simulator ports', () => {
  it('plays /bin/sleep N: alive until N virtual seconds have passed, then exit 0', () => {
    const engine = simEngine();
    engine.sup.createWorkspace(workspaceSpec({ label: 'w' }));
    const run = engine.sup.runCommand('w', sleep(['2']));
    if (!run.ok) throw new Error(run.error.message);
    engine.advance(1999);
    expect(engine.sup.getCommand('w', run.value.id)).toMatchObject({ value: { alive: true } });
    engine.advance(1);
    expect(engine.sup.getCommand('w', run.value.id)).toMatchObject({
      value: { alive: false, state: 'exited', exit: { code: 0 } },
    });
  });

  it('refuses binaries it does not play, and relative names, as the kernel would', () => {
    const engine = simEngine();
    engine.sup.createWorkspace(workspaceSpec({ label: 'w' }));
    for (const exec of ['/usr/bin/nope', 'sleep']) {
      const run = engine.sup.runCommand('w', sleep([], exec));
      expect(run).toMatchObject({
        ok: false,
        error: { code: 'spawn_failed', message: `exec ${exec}: No such file or directory` },
      });
    }
  });

  it('settles an asynchronous stop while pumping, without the test moving time', async () => {
    const engine = simEngine();
    const stopPump = engine.pump();
    engine.sup.createWorkspace(workspaceSpec({ label: 'w' }));
    engine.sup.runCommand('w', sleep(['100']));
    await expect(engine.sup.stopWorkspace('w', 0)).resolves.toEqual({
      ok: true,
      value: { reaped: 1 },
    });
    expect(engine.clock.nowMs()).toBe(0);
    stopPump();
  });
});
