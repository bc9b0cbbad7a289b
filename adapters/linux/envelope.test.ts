import { envelope, noNamespaces } from '../../testing/linux.js';
import type { NativeConstants } from './addon.js';
import { rlimitTriples, spawnOptsFor, withEnv } from './envelope.js';

const c = {
  CLONE_NEWUSER: 0x10000000,
  CLONE_NEWPID: 0x20000000,
  CLONE_NEWNS: 0x20000,
  CLONE_NEWNET: 0x40000000,
  CLONE_NEWUTS: 0x4000000,
  CLONE_NEWIPC: 0x8000000,
  RLIMIT_NOFILE: 7,
  RLIMIT_NPROC: 6,
  RLIMIT_AS: 9,
  RLIMIT_CORE: 4,
  RLIMIT_CPU: 0,
  RLIMIT_DATA: 2,
  RLIMIT_FSIZE: 1,
  RLIMIT_MEMLOCK: 8,
  RLIMIT_STACK: 3,
  CLK_TCK: 100,
} satisfies NativeConstants;
const id = { uid: 1000, gid: 1001 };

describe('spawnOptsFor', () => {
  it('sets nothing for an empty envelope but session and parent-death signal', () => {
    expect(spawnOptsFor(c, envelope(), id)).toEqual({
      rlimits: [],
      nsFlags: 0,
      newCgroupNs: false,
      mountProc: false,
      loUp: false,
      setsid: true,
      pdeathsig: true,
    });
  });

  it('maps rlimits to [resource, soft, hard] triples and skips zeros', () => {
    expect(rlimitTriples(c, { nofile: 64, nproc: 0, as: 1 << 20 })).toEqual([
      7,
      64,
      64,
      9,
      1 << 20,
      1 << 20,
    ]);
  });

  it('maps the daemon ids to 0 in a user namespace', () => {
    const o = spawnOptsFor(c, envelope({ namespaces: { ...noNamespaces(), user: true } }), id);
    expect(o).toMatchObject({
      nsFlags: c.CLONE_NEWUSER,
      uidMap: '0 1000 1\n',
      gidMap: '0 1001 1\n',
    });
  });

  it('mounts a fresh /proc only with both pid and mount namespaces', () => {
    const pidOnly = spawnOptsFor(c, envelope({ namespaces: { ...noNamespaces(), pid: true } }), id);
    const both = spawnOptsFor(
      c,
      envelope({ namespaces: { ...noNamespaces(), pid: true, mount: true } }),
      id,
    );
    expect(pidOnly.mountProc).toBe(false);
    expect(both).toMatchObject({ mountProc: true, nsFlags: c.CLONE_NEWPID | c.CLONE_NEWNS });
  });

  it('brings lo up in a net namespace and unshares the cgroup namespace after joining', () => {
    const o = spawnOptsFor(
      c,
      envelope({ namespaces: { ...noNamespaces(), net: true, cgroup: true } }),
      id,
    );
    expect(o).toMatchObject({ nsFlags: c.CLONE_NEWNET, loUp: true, newCgroupNs: true });
  });

  it('joins every hierarchy of a v1 handle through cgroup.procs', () => {
    const o = spawnOptsFor(
      c,
      envelope({ cgroup: '/sys/fs/cgroup/memory/w:/sys/fs/cgroup/pids/w' }),
      id,
    );
    expect(o.cgroupProcs).toEqual([
      '/sys/fs/cgroup/memory/w/cgroup.procs',
      '/sys/fs/cgroup/pids/w/cgroup.procs',
    ]);
  });
});

describe('withEnv', () => {
  it('replaces an existing entry and appends otherwise', () => {
    expect(withEnv(['A=1', 'NOTIFY_SOCKET=/old'], 'NOTIFY_SOCKET', '/new')).toEqual([
      'A=1',
      'NOTIFY_SOCKET=/new',
    ]);
    expect(withEnv([], 'X', 'y')).toEqual(['X=y']);
  });
});
