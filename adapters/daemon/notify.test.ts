import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../../testing/harness.js';
import { createNotifier, watchdogIntervalMs } from './notify.js';

describe('watchdogIntervalMs', () => {
  it.each([
    [{}, null],
    [{ WATCHDOG_USEC: '10000000' }, 5000],
    [{ WATCHDOG_USEC: '10000000', WATCHDOG_PID: '42' }, 5000],
    [{ WATCHDOG_USEC: '10000000', WATCHDOG_PID: '7' }, null],
    [{ WATCHDOG_USEC: 'soon' }, null],
    [{ WATCHDOG_USEC: '0' }, null],
  ])('reads %j for pid 42 as %s', (env, expected) => {
    expect(watchdogIntervalMs(env, 42)).toBe(expected);
  });
});

describe('createNotifier', () => {
  it('does nothing without NOTIFY_SOCKET', async () => {
    const sent: string[] = [];
    const n = createNotifier({ env: {}, pid: 1, sendDatagram: async (_s, m) => void sent.push(m) });
    await n.send('READY=1');
    n.startWatchdog()();
    expect(n.active).toBe(false);
    expect(sent).toEqual([]);
  });

  it('sends messages to NOTIFY_SOCKET and pings the watchdog at half its period', async () => {
    const sent: string[] = [];
    const n = createNotifier({
      env: { NOTIFY_SOCKET: '/run/notify', WATCHDOG_USEC: '40000' },
      pid: 1,
      sendDatagram: async (socket, m) => void sent.push(`${socket} ${m}`),
    });
    await n.send('READY=1');
    const startedMs = Date.now();
    const stop = n.startWatchdog();
    const pings = () => sent.filter((s) => s.endsWith('WATCHDOG=1')).length;
    await waitFor('two watchdog pings', () => pings() >= 2);
    stop();
    const after = pings();
    // Two pings take at least two half-periods (20 ms each).
    expect(Date.now() - startedMs).toBeGreaterThanOrEqual(2 * 20);
    expect(sent[0]).toBe('/run/notify READY=1');
    // Stopped means stopped: no ping arrives after a further full period.
    await new Promise((r) => setTimeout(r, 40));
    expect(pings()).toBe(after);
  });

  it('warns once when sending fails and never throws', async () => {
    const warnings: string[] = [];
    const n = createNotifier({
      env: { NOTIFY_SOCKET: '/run/notify' },
      pid: 1,
      sendDatagram: async () => {
        throw new Error('no route');
      },
      warn: (m) => warnings.push(m),
    });
    await n.send('READY=1');
    await n.send('STOPPING=1');
    expect(warnings).toEqual(['sd_notify READY=1: no route']);
  });
});

describe('the default sender', () => {
  it('is a datagram from the daemon itself: the errno of a missing socket, no helper', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shipote-notify-'));
    const warnings: string[] = [];
    const socket = join(dir, 'none.sock');
    const n = createNotifier({
      env: { NOTIFY_SOCKET: socket },
      pid: 1,
      warn: (m) => warnings.push(m),
    });
    await n.send('READY=1');
    rmSync(dir, { recursive: true, force: true });
    expect(warnings).toEqual([`sd_notify READY=1: send to ${socket}: ENOENT`]);
  });
});
