import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  cgroupDir,
  detectVersion,
  parseCgroupMounts,
  parseControllers,
  parseKeyValue,
  parseProcCgroup,
  parseSingle,
} from './parse.js';
import { limitFromText, limitToV1, limitToV2 } from './values.js';

const dump = (name: string): string =>
  readFileSync(join(import.meta.dirname ?? __dirname, '..', 'test', 'dumps', name), 'utf8');

/** A pure v2 host (systemd, Debian 12), captured as text. */
const V2_MOUNTINFO = [
  '22 28 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw',
  '24 28 0:5 / /dev rw,nosuid,relatime shared:2 - devtmpfs udev ' +
    'rw,size=4008288k,nr_inodes=1002072,mode=755',
  '28 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw,errors=remount-ro',
  '31 23 0:27 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 ' +
    'rw,nsdelegate,memory_recursiveprot',
  '',
].join('\n');
const V2_PROC_CGROUP = '0::/user.slice/user-1000.slice/session-3.scope\n';
/** A container with a cgroup namespace: the mount root is the container's cgroup. */
const V2_CONTAINER_MOUNTINFO =
  '1021 1015 0:27 /docker/abc /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup ' +
  'rw,nsdelegate\n';
const V2_MEMORY_EVENTS = 'low 0\nhigh 0\nmax 12\noom 3\noom_kill 2\noom_group_kill 0\n';
const V2_CPU_STAT = `usage_usec 1234567
user_usec 1000000
system_usec 234567
core_sched.force_idle_usec 0
nr_periods 0
nr_throttled 0
throttled_usec 0
nr_bursts 0
burst_usec 0
`;

describe('parseCgroupMounts and detectVersion', () => {
  it('finds every v1 hierarchy and the unified mount on this hybrid host dump', () => {
    const mounts = parseCgroupMounts(dump('host-v1-hybrid.mountinfo'));
    const memory = mounts.find((m) => m.controllers.includes('memory'));
    expect(memory).toEqual({
      fsType: 'cgroup',
      mountPoint: '/sys/fs/cgroup/memory',
      root: '/',
      controllers: ['memory'],
    });
    expect(mounts.find((m) => m.fsType === 'cgroup2')?.mountPoint).toBe('/sys/fs/cgroup/unified');
    expect(mounts.find((m) => m.controllers.includes('name=systemd'))).toBeDefined();
    expect(detectVersion(mounts)).toBe('hybrid');
  });

  it.each([
    ['a pure v2 host', V2_MOUNTINFO, 'v2'],
    ['a v1-only host', dump('host-v1-hybrid.mountinfo').replace(/^.*cgroup2.*$/m, ''), 'v1'],
    ['no cgroup mounts', '22 28 0:21 / /proc rw - proc proc rw\n', 'none'],
  ])('detects %s', (_, text, version) => {
    expect(detectVersion(parseCgroupMounts(text))).toBe(version);
  });

  it('keeps the mount root so paths inside a cgroup namespace resolve', () => {
    const [m] = parseCgroupMounts(V2_CONTAINER_MOUNTINFO);
    expect(m?.root).toBe('/docker/abc');
    expect(cgroupDir(m!, '/docker/abc/x')).toBe('/sys/fs/cgroup/x');
    expect(cgroupDir(m!, '/')).toBe('/sys/fs/cgroup');
  });
});

describe('parseProcCgroup', () => {
  it('reads controller paths from this host dump', () => {
    const p = parseProcCgroup(dump('host-v1-hybrid.cgroup'));
    expect(p.unified).toBe('/');
    expect(p.byController.get('memory')).toMatch(/^\//);
    expect(p.byController.get('pids')).toBe('/');
    expect(p.byController.get('name=systemd')).toBe('/');
  });

  it('reads the unified path on v2', () => {
    const p = parseProcCgroup(V2_PROC_CGROUP);
    expect(p.unified).toBe('/user.slice/user-1000.slice/session-3.scope');
    expect(p.byController.size).toBe(0);
  });
});

describe('value parsers', () => {
  it('reads oom_kill from memory.events (v2) and memory.oom_control (v1 dump)', () => {
    expect(parseKeyValue(V2_MEMORY_EVENTS).get('oom_kill')).toBe(2);
    expect(parseKeyValue(dump('host-v1.memory.oom_control')).get('oom_kill')).toBe(0);
  });

  it('reads usage_usec from cpu.stat (v2 string and the unified dump of this host)', () => {
    expect(parseKeyValue(V2_CPU_STAT).get('usage_usec')).toBe(1234567);
    expect(parseKeyValue(dump('host-unified.cpu.stat')).get('usage_usec')).toBeGreaterThan(0);
  });

  it.each([
    ['max\n', Number.POSITIVE_INFINITY],
    ['4096\n', 4096],
    ['garbage', Number.NaN],
  ])('parses the single value %j', (text, value) => {
    expect(parseSingle(text)).toBe(value);
  });

  it('reads v1 single-value dumps as integers', () => {
    for (const f of ['memory.usage_in_bytes', 'memory.max_usage_in_bytes', 'cpuacct.usage']) {
      expect(Number.isInteger(parseSingle(dump(`host-v1.${f}`)))).toBe(true);
    }
  });

  it('splits controller lists', () => {
    expect(parseControllers('cpuset cpu io memory hugetlb pids rdma misc\n')).toContain('pids');
    expect(parseControllers(dump('host-unified.cgroup.controllers'))).toEqual(['hugetlb']);
  });
});

describe('special values', () => {
  it.each([
    [0, 'max', '-1'],
    [1048576, '1048576', '1048576'],
  ])('writes limit %i as %s on v2 and %s on v1', (n, v2, v1) => {
    expect(limitToV2(n)).toBe(v2);
    expect(limitToV1(n)).toBe(v1);
  });

  it.each([
    ['max\n', 0],
    ['9223372036854771712\n', 0],
    ['-1', 0],
    ['5242880\n', 5242880],
    [null, null],
  ])('reads %j back as %j', (text, n) => {
    expect(limitFromText(text)).toBe(n);
  });

  it('reads the unlimited v1 limit of this host dump as no limit', () => {
    expect(limitFromText(dump('host-v1.memory.limit_in_bytes'))).toBe(0);
  });
});
