import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkCgroupPath } from '../../../core/manifest/cgroup.js';
import { createLinuxCgroups, invalidPath } from './index.js';
import { computeLayout } from './layout.js';

// Nothing here writes to this host's cgroup tree: the host is only read (caps, layout),
// and create/stats/kill run against a fake v2 tree of plain files in a temp dir.

describe('caps on this host (read-only)', () => {
  const cg = createLinuxCgroups();
  const caps = cg.caps();

  it('reports the version detected from /proc/self/mountinfo', () => {
    const mountinfo = readFileSync('/proc/self/mountinfo', 'utf8');
    const expected = /cgroup2/.test(mountinfo)
      ? / - cgroup /.test(mountinfo)
        ? 'hybrid'
        : 'v2'
      : / - cgroup /.test(mountinfo)
        ? 'v1'
        : 'none';
    expect(caps.version).toBe(expected);
  });

  it('reports pidfd support and user namespaces from the kernel', () => {
    expect(caps.pidfd).toBe(true);
    const max = Number(readFileSync('/proc/sys/user/max_user_namespaces', 'utf8'));
    expect(caps.userNamespaces).toBe(max > 0);
  });

  it('names the daemon cgroup it found and says why it is not delegated when it is not', () => {
    expect(caps.root).not.toBeNull();
    if (!caps.delegated) expect(caps.reasons.length).toBeGreaterThan(0);
    if (caps.version !== 'v2') expect(caps.cloneIntoCgroup).toBe(false);
  });
});

describe('layout', () => {
  const hybrid = readFileSync('/proc/self/mountinfo', 'utf8');

  it('places the v1 controllers under the paths of /proc/self/cgroup', () => {
    const layout = computeLayout(hybrid, '4:memory:/a/b\n8:pids:/\n2:cpuacct:/c\n');
    if (layout.version !== 'hybrid' && layout.version !== 'v1') return; // a v2 machine
    expect(layout.own?.v1.memory).toBe('/sys/fs/cgroup/memory/a/b');
    expect(layout.own?.v1.pids).toBe('/sys/fs/cgroup/pids');
    expect(layout.own?.v1.cpuacct).toBe('/sys/fs/cgroup/cpuacct/c');
  });

  it('mirrors a v1 root override into every controller hierarchy', () => {
    const layout = computeLayout(hybrid, '', '/sys/fs/cgroup/memory/e2e');
    if (layout.version !== 'hybrid' && layout.version !== 'v1') return;
    expect(layout.own?.v1).toMatchObject({
      memory: '/sys/fs/cgroup/memory/e2e',
      pids: '/sys/fs/cgroup/pids/e2e',
    });
  });
});

describe('create, stats, kill and remove on a fake v2 tree', () => {
  const root = mkdtempSync(join(tmpdir(), 'shipote-fakecg-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const mountinfo = `31 23 0:27 / ${root} rw - cgroup2 cgroup2 rw\n`;
  writeFileSync(join(root, 'cgroup.controllers'), 'cpu memory pids\n');
  writeFileSync(join(root, 'cgroup.subtree_control'), '');
  writeFileSync(join(root, 'cgroup.procs'), '');
  const cg = createLinuxCgroups({ mountinfo, procSelfCgroup: '0::/\n' });

  it.each([
    [
      '..',
      `cgroup path must not contain '..' segments (it would escape the daemon's subtree), got ".."`,
    ],
    [
      'a/../../b',
      "cgroup path must not contain '..' segments (it would escape the daemon's subtree), " +
        'got "a/../../b"',
    ],
    [
      '/abs',
      "cgroup path expected a path relative to the daemon's cgroup, not an absolute path, " +
        'got "/abs"',
    ],
    ['', 'cgroup path must not be empty'],
    ['a:b', `cgroup path must not contain ':' (cgroup handles join paths with it), got "a:b"`],
  ])('refuses the path %j', (path, message) => {
    expect(invalidPath(path)).toBe(message);
    const r = cg.create(path, { memBytes: 0, pids: 0 });
    expect(r.ok).toBe(false);
    if (!r.ok)
      expect(r.error).toMatchObject({ port: 'Cgroups', reason: 'InvalidArgument', message });
  });

  it('enables memory and pids in the parent and writes the limits', () => {
    // cgroupfs would create the interface files itself; plain dirs need them up front.
    mkdirSync(join(root, 'ws'), { recursive: true });
    writeFileSync(join(root, 'ws', 'cgroup.controllers'), 'memory pids\n');
    writeFileSync(join(root, 'ws', 'cgroup.subtree_control'), '');
    const r = cg.create('ws/one', { memBytes: 5242880, pids: 0 });
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value.handle).toBe(join(root, 'ws', 'one'));
    expect(readFileSync(join(root, 'cgroup.subtree_control'), 'utf8')).toBe('+memory +pids');
    expect(readFileSync(join(root, 'ws', 'cgroup.subtree_control'), 'utf8')).toBe('+memory +pids');
    expect(readFileSync(join(root, 'ws', 'one', 'memory.max'), 'utf8')).toBe('5242880');
    expect(readFileSync(join(root, 'ws', 'one', 'pids.max'), 'utf8')).toBe('max');
  });

  it('reads stats from the v2 files', () => {
    const dir = join(root, 'ws', 'one');
    writeFileSync(join(dir, 'cgroup.procs'), '101\n102\n');
    writeFileSync(join(dir, 'memory.current'), '4096\n');
    writeFileSync(join(dir, 'memory.peak'), '8192\n');
    writeFileSync(join(dir, 'memory.events'), 'low 0\nhigh 0\nmax 1\noom 1\noom_kill 1\n');
    writeFileSync(join(dir, 'cpu.stat'), 'usage_usec 250\nuser_usec 200\nsystem_usec 50\n');
    writeFileSync(join(dir, 'pids.current'), '2\n');
    const r = cg.stats(dir);
    expect(r).toEqual({
      ok: true,
      value: { memBytes: 4096, memPeakBytes: 8192, cpuUs: 250, pids: 2, oomKills: 1 },
    });
  });

  it('kills through cgroup.kill and counts the processes it held', () => {
    const dir = join(root, 'ws', 'one');
    writeFileSync(join(dir, 'cgroup.kill'), '');
    expect(cg.kill(dir)).toEqual({ ok: true, value: { killed: 2 } });
    expect(readFileSync(join(dir, 'cgroup.kill'), 'utf8')).toBe('1');
  });

  it('reports a missing cgroup as NotFound, and removing it as done', () => {
    const gone = join(root, 'nope');
    const r = cg.stats(gone);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.reason).toBe('NotFound');
    expect(cg.remove(gone)).toEqual({ ok: true, value: true });
    expect(existsSync(gone)).toBe(false);
  });

  it('answers Busy as a value, at once, while a cgroup to remove still lists processes', () => {
    const dir = join(root, 'ws', 'busy');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'cgroup.procs'), '101\n');
    const r = cg.remove(dir);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error).toMatchObject({ port: 'Cgroups', method: 'remove', reason: 'Busy' });
      expect(r.error.message).toBe(`${dir}: 1 process(es) still in the cgroup; try again shortly`);
    }
    expect(existsSync(dir)).toBe(true);
  });

  it('removes a cgroup once nothing is listed', () => {
    const dir = join(root, 'ws', 'empty');
    mkdirSync(dir, { recursive: true });
    expect(cg.remove(dir)).toEqual({ ok: true, value: true });
    expect(existsSync(dir)).toBe(false);
  });

  it('kills without cgroup.kill in one round and answers Busy while pids are listed', async () => {
    const dir = join(root, 'ws', 'old');
    mkdirSync(dir, { recursive: true });
    // Our own processes, listed in a plain file (the fake cgroup.procs keeps listing them).
    const children = [spawn('/bin/sleep', ['100']), spawn('/bin/sleep', ['100'])];
    const exited = children.map((c) => new Promise((r) => c.once('exit', (_, sig) => r(sig))));
    writeFileSync(join(dir, 'cgroup.procs'), children.map((c) => `${c.pid}\n`).join(''));
    const r = cg.kill(dir);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatchObject({ method: 'kill', reason: 'Busy' });
    expect(await Promise.all(exited)).toEqual(['SIGKILL', 'SIGKILL']);
    writeFileSync(join(dir, 'cgroup.procs'), ''); // the kernel drops them once reaped
    expect(cg.kill(dir)).toEqual({ ok: true, value: { killed: 0 } });
  });
});

describe('the cgroup path rule', () => {
  it.each([
    'shipote',
    'a/b-c_d.e/f',
    'a:b',
    'a\nb',
    'a\rb',
    'a\tb',
    'a\0b',
    '/abs',
    '..',
    'a/./b',
    'a//b',
    'x y',
  ])('is the same in the adapter as in the manifest check, for %j', (path) => {
    expect(invalidPath(path) === null).toBe(checkCgroupPath(path) === null);
  });
});
