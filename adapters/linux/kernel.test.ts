import { spawn as spawnProcess } from 'node:child_process';
import { chmodSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { hostname, constants as osc } from 'node:os';
import { join } from 'node:path';
import type { Namespaces } from '../../core/manifest/types.js';
import {
  closeAfterAll,
  envelope,
  harness,
  noNamespaces,
  pollUntil,
  req,
} from '../../testing/linux.js';
import { loadAddon } from './addon.js';

const h = harness();
const k = h.kernel;

closeAfterAll(h);

describe('spawn and exec errors', () => {
  const notExecutable = join(h.runtimeDir, 'plain.txt');
  writeFileSync(notExecutable, 'not a program\n');
  chmodSync(notExecutable, 0o644);

  it.each([
    ['a missing file', '/nonexistent/shipote-x', 'NotFound', 2],
    ['a missing command on PATH', 'shipote-no-such-command', 'NotFound', 2],
    ['a non-executable file', notExecutable, 'PermissionDenied', 13],
  ])('reports %s synchronously as an error with errno and syscall', (_, exec, reason, errno) => {
    const before = h.events.length;
    const r = k.spawn('exec-err', req(exec, []));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error).toMatchObject({ _tag: 'PortError', port: 'Kernel', method: 'spawn' });
    expect(r.error).toMatchObject({ reason, errno, syscall: 'execve', path: exec });
    expect(r.error.message).toContain(`exec ${exec}`);
    expect(h.events.length).toBe(before);
  });

  it('refuses an empty exec with the option named in the message', () => {
    const r = k.spawn('bad', req('', []));
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.reason).toBe('InvalidArgument');
      expect(r.error.message).toBe('Expected the `exec` option to be a non-empty string, got ``');
    }
  });

  it('makes the addon throw a usage message when called with the wrong arity or types', () => {
    const native = loadAddon() as unknown as { spawn: (...a: unknown[]) => unknown };
    expect(() => native.spawn('/bin/true')).toThrow(
      'Usage: spawn(exec, argv, envp, cwd, stdio, opts)',
    );
    expect(() => native.spawn('/bin/true', 'x', [], '', [0, 1, 2], {})).toThrow('Usage: spawn');
  });
});

/** Alive and not a zombie waiting for a reaper. */
function alive(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

describe('exits and signals', () => {
  it.each([0, 1, 3, 127])('reports exit code %i from the pidfd', async (code) => {
    const r = k.spawn(`exit-${code}`, req('/bin/sh', ['-c', `exit ${code}`]));
    if (!r.ok) throw new Error(r.error.message);
    const e = await h.exitOf(r.value.pid);
    expect(e).toEqual({ type: 'exit', pid: r.value.pid, code, signal: null });
  });

  it.each([
    ['SIGTERM', 15],
    ['SIGKILL', 9],
    ['SIGINT', 2],
    ['SIGHUP', 1],
    ['SIGUSR1', 10],
  ] as const)('reports death by %s as the signal (status 128+%i)', async (name, n) => {
    const r = k.spawn('sig', req('/bin/sleep', ['30']));
    if (!r.ok) throw new Error(r.error.message);
    k.signal(r.value.pid, name);
    const e = await h.exitOf(r.value.pid);
    expect(e.code).toBeNull();
    expect(e.signal).toBe(name);
    expect(osc.signals[name]).toBe(n);
  });

  it('raises no SIGCHLD in the parent when a child exits (the pidfd reports it)', async () => {
    let sigchld = 0;
    const onChld = (): void => {
      sigchld++;
    };
    process.on('SIGCHLD', onChld);
    try {
      const r = k.spawn('quiet', req('/bin/true', []));
      if (!r.ok) throw new Error(r.error.message);
      expect((await h.exitOf(r.value.pid)).code).toBe(0);
      await new Promise((resolve) => setTimeout(resolve, 50)); // time for a pending signal
      expect(sigchld).toBe(0);
    } finally {
      process.off('SIGCHLD', onChld);
    }
  });

  it('signals the whole process group of a command, so what it forked dies with it', async () => {
    const r = k.spawn('forker', req('/bin/sh', ['-c', 'sleep 30 & echo $!; wait']));
    if (!r.ok) throw new Error(r.error.message);
    const text = (): string => new TextDecoder().decode(k.logs('forker', 'stdout'));
    const child = Number(await pollUntil(() => text().trim() || undefined, 'the child pid'));
    expect(alive(child)).toBe(true);
    k.signal(r.value.pid, 'SIGTERM');
    expect((await h.exitOf(r.value.pid)).signal).toBe('SIGTERM');
    await pollUntil(() => (alive(child) ? undefined : true), 'the forked child to die');
  });

  it('ignores a signal to a process that is already gone', async () => {
    const r = k.spawn('gone', req('/bin/true', []));
    if (!r.ok) throw new Error(r.error.message);
    await h.exitOf(r.value.pid);
    expect(() => k.signal(r.value.pid, 'SIGTERM')).not.toThrow();
  });
});

/** Spins, never yielding to the loop, until `pid` has ended and waits to be reaped. */
function spinUntilZombie(pid: number): void {
  const until = Date.now() + 10_000;
  for (;;) {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return;
    if (Date.now() > until) throw new Error(`${pid} did not end within 10 s`);
  }
}

describe('deliverReady', () => {
  it('delivers the exit of a child that has ended at once, before the loop turns', () => {
    const r = k.spawn('ready', req('/bin/sh', ['-c', 'exit 7']));
    if (!r.ok) throw new Error(r.error.message);
    spinUntilZombie(r.value.pid);
    const exitOf = () => h.events.find((e) => e.type === 'exit' && e.pid === r.value.pid);
    expect(exitOf()).toBeUndefined();
    k.deliverReady();
    expect(exitOf()).toEqual({ type: 'exit', pid: r.value.pid, code: 7, signal: null });
    k.deliverReady(); // already delivered: nothing twice
    expect(h.events.filter((e) => e.type === 'exit' && e.pid === r.value.pid)).toHaveLength(1);
  });

  it('is not held back by an ended child that is not its own', () => {
    // A child of Node's own child_process, ended but not yet reaped by libuv (this test
    // never yields to the loop), older than ours: first in the kernel's list of children.
    const foreign = spawnProcess('/bin/true', [], { stdio: 'ignore' });
    const r = k.spawn('after-foreign', req('/bin/sh', ['-c', 'exit 4']));
    if (!r.ok) throw new Error(r.error.message);
    spinUntilZombie(foreign.pid as number);
    spinUntilZombie(r.value.pid);
    k.deliverReady();
    expect(h.events.find((e) => e.type === 'exit' && e.pid === r.value.pid)).toMatchObject({
      code: 4,
    });
  });

  it('delivers nothing while a child runs', async () => {
    const r = k.spawn('running', req('/bin/sleep', ['30']));
    if (!r.ok) throw new Error(r.error.message);
    k.deliverReady();
    expect(h.events.find((e) => e.type === 'exit' && e.pid === r.value.pid)).toBeUndefined();
    k.signal(r.value.pid, 'SIGKILL');
    expect((await h.exitOf(r.value.pid)).signal).toBe('SIGKILL');
  });
});

describe('stdio capture and fds', () => {
  it('captures stdout and stderr separately and interleaved', async () => {
    const r = k.spawn('both', req('/bin/sh', ['-c', 'echo out; echo err >&2']));
    if (!r.ok) throw new Error(r.error.message);
    await h.exitOf(r.value.pid);
    await pollUntil(() => (k.logBytes('both').stderr === 4 ? true : undefined), 'stderr');
    await pollUntil(() => (k.logBytes('both').stdout === 4 ? true : undefined), 'stdout');
    expect(h.text('both', 'stdout')).toBe('out\n');
    expect(h.text('both', 'stderr')).toBe('err\n');
    expect(h.text('both', 'both')).toMatch(/^(out\nerr\n|err\nout\n)$/);
    expect(Buffer.from(k.logs('both', 'stdout', 2)).toString()).toBe('t\n');
  });

  it('leaves the child only fds 0, 1 and 2', async () => {
    const r = k.spawn('fds', req('/bin/sh', ['-c', 'ls /proc/$$/fd']));
    if (!r.ok) throw new Error(r.error.message);
    await h.exitOf(r.value.pid);
    await pollUntil(() => (h.text('fds').length >= 6 ? true : undefined), 'fd list');
    expect(h.text('fds').split('\n').filter(Boolean)).toEqual(['0', '1', '2']);
  });

  it('nudges followers when the log files grow', async () => {
    let nudges = 0;
    const stop = k.followLogs('follow', () => {
      nudges++;
    });
    const r = k.spawn('follow', req('/bin/echo', ['hello']));
    if (!r.ok) throw new Error(r.error.message);
    await pollUntil(() => (nudges > 0 ? true : undefined), 'a nudge');
    await pollUntil(() => (h.text('follow') === 'hello\n' ? true : undefined), 'the line');
    stop();
  });

  it('runs in the given cwd with the given environment', async () => {
    const r = k.spawn(
      'cwd',
      req('/bin/sh', ['-c', 'pwd; echo $FOO'], { cwd: '/tmp', envp: ['FOO=bar'] }),
    );
    if (!r.ok) throw new Error(r.error.message);
    await h.exitOf(r.value.pid);
    await pollUntil(() => (h.text('cwd') === '/tmp\nbar\n' ? true : undefined), 'output');
  });
});

describe('envelope', () => {
  const run = async (key: string, script: string, env = envelope()): Promise<string> => {
    const r = k.spawn(key, req('/bin/sh', ['-c', script], { envelope: env }));
    if (!r.ok) throw new Error(r.error.message);
    const e = await h.exitOf(r.value.pid);
    expect(e.code).toBe(0);
    await h.captured(key);
    return h.text(key);
  };

  it('applies RLIMIT_NOFILE and RLIMIT_NPROC in the child', async () => {
    const env = envelope({ rlimits: { nofile: 64, nproc: 7 } });
    const out = await run('rlimit', 'ulimit -n; grep "Max processes" /proc/self/limits', env);
    expect(out.split('\n')[0]).toBe('64');
    expect(out).toMatch(/Max processes\s+7\s+7\s+processes/);
  });

  it('fails synchronously when a limit cannot be raised', () => {
    const env = envelope({ rlimits: { nofile: 1 << 30, nproc: 0 } });
    const r = k.spawn('rlimit-high', req('/bin/true', [], { envelope: env }));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatchObject({ syscall: 'setrlimit' });
  });

  const probe = (ns: Partial<Namespaces>): string => {
    const r = k.spawn(
      'probe',
      req('/bin/true', [], { envelope: envelope({ namespaces: { ...noNamespaces(), ...ns } }) }),
    );
    return r.ok ? '' : r.error.message;
  };

  const cases: [string, Partial<Namespaces>, string, (out: string) => void][] = [
    ['is pid 1 in a pid namespace', { pid: true }, 'echo $$', (o) => expect(o).toBe('1\n')],
    [
      'sees only its own processes with pid + mount namespaces',
      { pid: true, mount: true },
      'ls /proc | grep -c "^[0-9]"',
      (o) => expect(Number(o)).toBeLessThanOrEqual(3),
    ],
    [
      'has its own hostname in a uts namespace',
      { uts: true },
      'hostname shipote-uts-test && hostname',
      (o) => {
        expect(o).toBe('shipote-uts-test\n');
        expect(hostname()).not.toBe('shipote-uts-test');
      },
    ],
    ['is uid 0 in a user namespace', { user: true }, 'id -u', (o) => expect(o).toBe('0\n')],
    [
      'has only an up loopback in a net namespace',
      { net: true },
      'tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " "; ip -o link | grep -c UP',
      (o) => expect(o).toBe('lo\n1\n'),
    ],
    [
      'sees its own cgroup as the root in a cgroup namespace',
      { cgroup: true },
      'cut -d: -f3 /proc/self/cgroup | sort -u',
      (o) => expect(o).toBe('/\n'),
    ],
    [
      'runs in its own ipc namespace',
      { ipc: true },
      'readlink /proc/self/ns/ipc',
      (o) => expect(o.trim()).not.toBe(readlinkSync('/proc/self/ns/ipc')),
    ],
  ];
  for (const [title, ns, script, check] of cases) {
    const why = probe(ns);
    (why ? it.skip : it)(`${title}${why ? ` (skipped: ${why})` : ''}`, async () => {
      check(
        await run(`ns-${title}`, script, envelope({ namespaces: { ...noNamespaces(), ...ns } })),
      );
    });
  }
});

describe('sample', () => {
  it('sums alive processes, RSS and CPU over a process tree', async () => {
    const r = k.spawn('tree', req('/bin/sh', ['-c', 'sleep 5 & sleep 5 & wait']));
    if (!r.ok) throw new Error(r.error.message);
    const stats = await pollUntil(() => {
      const s = k.sample([r.value.pid]);
      return s.alive === 3 ? s : undefined;
    }, 'three processes');
    expect(stats.rssBytes).toBeGreaterThan(0);
    expect(stats.cpuUs).toBeGreaterThanOrEqual(0);
    process.kill(-r.value.pid, 'SIGKILL'); // the child leads its own session and group
    await h.exitOf(r.value.pid);
    expect(k.sample([r.value.pid])).toEqual({ alive: 0, rssBytes: 0, cpuUs: 0 });
  });
});
