import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { constants as osc, tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { TokenBucket } from '../../core/flow/bucket.js';
import type { KernelEvent } from '../../core/ports.js';
import { harness, pollUntil, req } from '../../testing/linux.js';
import { loadAddon } from './addon.js';
import type { KernelImpl } from './kernel.js';
import { parsePidStat } from './proc-stats.js';

const h = harness();
const k = h.kernel;
const native = loadAddon();

afterAll(() => h.close());

describe('one token bucket', () => {
  it('the pump bucket (C++) and core/flow/bucket.ts grant the same on shared inputs', () => {
    const step = fc.tuple(fc.integer({ min: -5, max: 3000 }), fc.integer({ min: 0, max: 5e6 }));
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1e7 }),
        fc.integer({ min: 1, max: 2e7 }),
        fc.array(step, { maxLength: 60 }),
        (ratePerSec, burstBytes, steps) => {
          const trace: number[] = [];
          let nowMs = 1_000_000;
          for (const [deltaMs, wantBytes] of steps) {
            nowMs += deltaMs; // a negative delta: a clock that steps back
            trace.push(nowMs, wantBytes);
          }
          const bucket = new TokenBucket(ratePerSec, burstBytes);
          const expected: number[] = [];
          for (let i = 0; i < trace.length; i += 2) {
            const g = bucket.take(trace[i + 1]!, trace[i]!);
            expected.push(g.grantedBytes, g.waitMs);
          }
          expect(native.bucketTrace(ratePerSec, burstBytes, trace)).toEqual(expected);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('the start time a spawn returns', () => {
  it('is field 22 of the child /proc/<pid>/stat, also when its name holds ") ("', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shipote-ticks-'));
    const odd = join(dir, 'a) b (c');
    symlinkSync('/bin/sleep', odd);
    try {
      for (const exec of ['/bin/sleep', odd]) {
        const r = native.spawn(exec, ['5'], [], '', [-1, -1, -1], {});
        if (!('pid' in r)) throw new Error(`spawn ${exec}: errno ${r.errno}`);
        const stat = parsePidStat(readFileSync(`/proc/${r.pid}/stat`, 'latin1'));
        native.signal(r.pid, osc.signals.SIGKILL);
        expect(stat?.startTicks).toBeGreaterThan(0);
        expect(r.startTicks).toBe(stat?.startTicks);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('spawn without close_range', () => {
  it('closes fds one by one up to RLIMIT_NOFILE and still execs with stdio intact', () => {
    // An fd without close-on-exec, as a careless library would leave: close_range marks
    // it, the fallback loop must close it.
    const p = native.pipe(0);
    if (!Array.isArray(p)) throw new Error('pipe');
    const leaked = native.dupInheritable(p[0]);
    if (typeof leaked !== 'number') throw new Error('dup');
    const out = native.pipe(0);
    if (!Array.isArray(out)) throw new Error('pipe');
    const r = native.spawn('/bin/ls', ['/proc/self/fd'], [], '', [-1, out[1], -1], {
      forceCloseLoop: true,
    });
    native.close(out[1]);
    expect('pid' in r).toBe(true);
    const fds = readFileSync(out[0], 'latin1').trim().split('\n').map(Number);
    for (const fd of [out[0], p[0], p[1], leaked]) native.close(fd);
    // 0-2 and the one ls opens for the directory: nothing else reached the program.
    expect(fds.slice(0, 3)).toEqual([0, 1, 2]);
    expect(fds).not.toContain(leaked);
    expect(fds.length).toBe(4);
  });

  it('reports exec failures on the fd-by-fd path as errors, not exits', () => {
    const r = native.spawn('/nonexistent/x', [], [], '', [-1, -1, -1], { forceCloseLoop: true });
    expect(r).toMatchObject({ errno: osc.errno.ENOENT, syscall: 'execve' });
  });
});

describe('a failed waitid', () => {
  it('is delivered as an unknown status, never as an exit code', () => {
    const seen: KernelEvent[] = [];
    k.onEvent((e) => seen.push(e));
    (k as KernelImpl).onExit(999_999, -1, 0, osc.errno.ECHILD);
    expect(seen).toEqual([
      {
        type: 'exit',
        pid: 999_999,
        code: null,
        signal: 'UNKNOWN',
        statusUnknown: 'waitid: ECHILD',
      },
    ]);
  });
});

describe('sd_notify datagrams from the daemon', () => {
  const addonPath = join(import.meta.dirname, '..', '..', 'native', 'build', 'Release');
  // A receiver in its own process: binds, says "bound", prints the first datagram, exits.
  const receive = (path: string) => {
    const code = `const a = require(${JSON.stringify(join(addonPath, 'shipote.node'))});
      a.init(() => {}, (id, pid, m) => { console.log(pid + ' ' + m); process.exit(0); }, () => {});
      const id = a.notifyOpen(${JSON.stringify(path)});
      console.log(typeof id === 'number' ? 'bound' : 'errno ' + id.errno);
      setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    return { child, out: () => out };
  };

  it.each([
    ['a socket path', join(h.runtimeDir, 'sd.sock')],
    ['an abstract address', `@shipote-test-${process.pid}`],
  ])('sends one datagram to %s, with our pid as the sender', async (_, path) => {
    const r = receive(path);
    await pollUntil(() => (r.out().includes('bound') ? true : undefined), 'the receiver');
    expect(native.notifySend(path, 'READY=1')).toBe(0);
    await pollUntil(() => (r.out().includes('READY') ? true : undefined), 'the datagram');
    expect(r.out()).toBe(`bound\n${process.pid} READY=1\n`);
  });

  it('returns the errno when nobody listens', () => {
    expect(native.notifySend(join(h.runtimeDir, 'nobody.sock'), 'READY=1')).toBe(osc.errno.ENOENT);
  });
});

describe('watchdog environment', () => {
  it('gives WATCHDOG_USEC and WATCHDOG_PID = the child own pid', async () => {
    const r = k.spawn(
      'wd',
      req('/bin/sh', ['-c', 'echo "$WATCHDOG_USEC $WATCHDOG_PID $$"'], { watchdogUs: 3_000_000 }),
    );
    if (!r.ok) throw new Error(r.error.message);
    await h.exitOf(r.value.pid);
    await h.captured('wd');
    expect(h.text('wd')).toBe(`3000000 ${r.value.pid} ${r.value.pid}\n`);
  });

  it('sets neither without a watchdog', async () => {
    const script = 'echo "[$WATCHDOG_USEC][$WATCHDOG_PID]"';
    const r = k.spawn('no-wd', req('/bin/sh', ['-c', script], { envp: ['WATCHDOG_PID=1'] }));
    if (!r.ok) throw new Error(r.error.message);
    await h.exitOf(r.value.pid);
    await h.captured('no-wd');
    expect(h.text('no-wd')).toBe('[][1]\n'); // what the caller passed is left alone
  });
});

describe('user and group', () => {
  const root = process.getuid?.() === 0;
  (root ? it : it.skip)('runs as the named user and group (root daemon)', async () => {
    const r = k.spawn(
      'as-nobody',
      req('/bin/sh', ['-c', 'echo $(id -u) $(id -g) $(id -G)'], {
        user: 'nobody',
        group: 'nogroup',
      }),
    );
    if (!r.ok) throw new Error(r.error.message);
    await h.exitOf(r.value.pid);
    await h.captured('as-nobody'); // the writer thread may still hold the line
    const gid = native.lookupGroup('nogroup');
    expect(h.text('as-nobody')).toBe(`65534 ${gid} ${gid}\n`);
  });

  it('names the field and value of a user that does not exist', () => {
    const r = k.spawn('as-ghost', req('/bin/true', [], { user: 'shipote-no-such-user' }));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.message).toContain('user "shipote-no-such-user"');
    expect(r.error.reason).toBe(root ? 'NotFound' : 'PermissionDenied');
  });
});
