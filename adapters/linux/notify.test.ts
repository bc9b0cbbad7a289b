import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { KernelEvent } from '../../core/ports.js';
import { harness, pollUntil, req } from '../../testing/linux.js';

const h = harness();
const k = h.kernel;

afterAll(() => h.close());

const notifyTool = (() => {
  try {
    return execFileSync('/bin/sh', ['-c', 'command -v systemd-notify']).toString().trim();
  } catch {
    return '';
  }
})();

describe('sd_notify', () => {
  const why = notifyTool ? '' : 'systemd-notify is not installed';
  (why ? it.skip : it)(
    `delivers READY=1 from NOTIFY_SOCKET with the sender pid${why ? ` (skipped: ${why})` : ''}`,
    async () => {
      const r = k.spawn('notify', req(notifyTool, ['--ready', 'STATUS=up'], { notify: true }));
      if (!r.ok) throw new Error(r.error.message);
      const e = await pollUntil(
        () =>
          h.events.find((x) => x.type === 'notify') as
            | Extract<KernelEvent, { type: 'notify' }>
            | undefined,
        'notify event',
      );
      expect(e.message).toMatch(/READY=1/);
      expect(e.message).toMatch(/STATUS=up/);
      expect(e.pid).toBeGreaterThan(0);
      const sock = join(h.runtimeDir, 'notify-notify.sock');
      expect(existsSync(sock)).toBe(true);
      await h.exitOf(r.value.pid);
      k.release('notify');
    },
  );

  it('sets NOTIFY_SOCKET in the child environment only when asked', async () => {
    const script = 'if [ -n "$NOTIFY_SOCKET" ]; then echo "$NOTIFY_SOCKET"; else echo none; fi';
    const a = k.spawn('env-a', req('/bin/sh', ['-c', script], { notify: true }));
    const b = k.spawn('env-b', req('/bin/sh', ['-c', script]));
    if (!a.ok || !b.ok) throw new Error('spawn failed');
    await pollUntil(() => (h.text('env-a').endsWith('\n') ? true : undefined), 'env-a');
    await pollUntil(() => (h.text('env-b').endsWith('\n') ? true : undefined), 'env-b');
    expect(h.text('env-a')).toBe(`${join(h.runtimeDir, 'notify-env-a.sock')}\n`);
    expect(h.text('env-b')).toBe('none\n');
  });
});

describe('parent death', () => {
  it('kills the children when the daemon process dies (PR_SET_PDEATHSIG)', async () => {
    const addonPath = join(
      import.meta.dirname,
      '..',
      '..',
      'native',
      'build',
      'Release',
      'shipote.node',
    );
    const code = `const a = require(${JSON.stringify(addonPath)});
      a.init(() => {}, () => {}, () => {});
      const r = a.spawn('/bin/sleep', ['60'], [], '', [-1, -1, -1], {});
      console.log(r.pid);
      setInterval(() => {}, 1000);`;
    const daemon = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
    const pid = await new Promise<number>((resolve) =>
      daemon.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))),
    );
    expect(existsSync(`/proc/${pid}`)).toBe(true);
    daemon.kill('SIGKILL');
    await pollUntil(() => (existsSync(`/proc/${pid}`) ? undefined : true), 'orphan killed');
  });
});
