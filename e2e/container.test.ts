/**
 * The harness itself, proven without shipote: the container is a scoped resource, its
 * cgroup namespace is private, its own cgroup subtree is writable and enforced by the
 * kernel, and fresh pid/user/mount namespaces with their own /proc can be made inside.
 */

import { readlinkSync } from 'node:fs';
import {
  assertPrivateCgroupns,
  type DelegatedCgroups,
  mountDelegatedCgroups,
} from './harness/cgroups.js';
import {
  acquireContainer,
  containerExists,
  type E2eContainer,
  withContainer,
} from './harness/container.js';
import { cgroupVersion, containerSkipReason } from './harness/env.js';
import { E2eError } from './harness/errors.js';

const why = containerSkipReason();
const test = why ? it.skip : it;
const skipNote = why ? ` (skipped: ${why})` : '';
const cg = `[cgroup ${cgroupVersion}]`;

describe(`container fixture ${cg}${skipNote}`, () => {
  let c: E2eContainer;
  let cgroups: DelegatedCgroups;

  beforeAll(async () => {
    if (why) return;
    c = await acquireContainer();
    cgroups = await mountDelegatedCgroups(c);
  }, 60_000);

  afterAll(async () => {
    await c?.release();
  }, 30_000);

  test('runs the host node binary with the checkout mounted read-only at /src', async () => {
    const version = await c.shOk('node -e "process.stdout.write(process.version)"');
    expect(version).toBe(process.version);
    const write = await c.sh('touch /src/.e2e-write-probe');
    expect(write.exitCode).not.toBe(0);
    expect(write.stderr).toMatch(/Read-only file system/);
  }, 30_000);

  test('has a private cgroup namespace, checked before any cgroup write', async () => {
    await expect(assertPrivateCgroupns(c)).resolves.toBeUndefined();
    const inside = (await c.shOk('readlink /proc/self/ns/cgroup')).trim();
    expect(inside).not.toBe(readlinkSync('/proc/self/ns/cgroup'));
  }, 30_000);

  test(`detects the host's cgroup version inside the container ${cg}`, () => {
    expect(cgroups.version).toBe(cgroupVersion);
  }, 30_000);

  test(`kernel OOM-kills a process over a child cgroup's memory limit ${cg}`, async () => {
    const dir = cgroups.rootChild('memory', 'smoke-oom');
    await c.shOk(`mkdir -p ${dir} && echo 16777216 > ${dir}/${cgroups.memLimitFile}`);
    const hog = await c.sh(
      `sh -c 'echo $$ > ${dir}/cgroup.procs; exec sh /src/e2e/fixtures/hog-memory.sh 64M'`,
    );
    expect(hog.exitCode).toBe(137);
    const events = `${dir}/${cgroups.oomEventsFile}`;
    const ooms = await c.shOk(`awk '$1 == "oom_kill" { print $2 }' ${events}`);
    expect(Number(ooms)).toBeGreaterThanOrEqual(1);
    await c.shOk(`rmdir ${dir}`);
  }, 30_000);

  test(`kernel refuses a fork past a child cgroup's pids.max ${cg}`, async () => {
    const dir = cgroups.rootChild('pids', 'smoke-pids');
    await c.shOk(`mkdir -p ${dir} && echo 3 > ${dir}/pids.max`);
    const bomb = await c.sh(
      `sh -c 'echo $$ > ${dir}/cgroup.procs; exec sh /src/e2e/fixtures/fork-until-fail.sh 10'`,
    );
    expect(bomb.stdout).toContain('started 2');
    expect(bomb.stdout).not.toContain('started 3');
    expect(bomb.stderr).toMatch(/can't fork/);
    const events = await c.shOk(`cat ${dir}/pids.events`);
    expect(events).toMatch(/^max [1-9]/m);
    await c.shOk(`kill $(cat ${dir}/cgroup.procs) 2>/dev/null; :`);
    await c.shOk(`while [ -s ${dir}/cgroup.procs ]; do usleep 20000; done; rmdir ${dir}`);
  }, 30_000);

  test('unshare -Upmf --mount-proc gives pid 1, root mapped, and its own /proc', async () => {
    const out = await c.shOk(
      `unshare -Upmfr --mount-proc sh -c 'echo pid=$$ uid=$(id -u); ls /proc | grep -c "^[0-9]"'`,
    );
    const [first = '', procCount = ''] = out.trim().split('\n');
    expect(first).toBe('pid=1 uid=0');
    // Only this shell and its `ls`/`grep` children are in the new namespace.
    expect(Number(procCount)).toBeLessThanOrEqual(3);
  }, 30_000);

  test('a missing image fails fast with a tagged error instead of a pull', async () => {
    const failure = acquireContainer('shipote-e2e:no-such-tag');
    await expect(failure).rejects.toBeInstanceOf(E2eError);
    await expect(failure).rejects.toMatchObject({ _tag: 'E2eError', stage: 'image' });
  }, 30_000);

  test('release stops and removes the container, also when the scoped body throws', async () => {
    let seen = '';
    await withContainer(async (other) => {
      seen = other.id;
      expect(await containerExists(other.id)).toBe(true);
    });
    expect(await containerExists(seen)).toBe(false);

    const failing = withContainer(async (other) => {
      seen = other.id;
      throw new Error('body failed');
    });
    await expect(failing).rejects.toThrow('body failed');
    expect(await containerExists(seen)).toBe(false);
  }, 30_000);
});
