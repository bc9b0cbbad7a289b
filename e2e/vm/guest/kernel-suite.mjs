// Tests that need no shipote code: they prove the VM, the kernel's unified hierarchy and the
// fixtures themselves, so a failing shipote test can be told apart from a broken harness.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRegistry } from './harness.mjs';
import {
  cgPath,
  isDead,
  MiB,
  mkCgroup,
  parseKeyValues,
  pollUntil,
  procsOf,
  readKeyValues,
  readText,
  removeCgroupTree,
  runCapture,
  writeText,
} from './util.mjs';

const FIXTURES = new URL('./fixtures/', import.meta.url).pathname;
const BASE = cgPath('kernel-selftest');

/** Run `exec args…` inside cgroup `dir` (the wrapper shell joins it, then execs). */
function inCgroup(dir, exec, args, options) {
  const join = `echo $$ > ${dir}/cgroup.procs && exec "$@"`;
  return runCapture('/bin/sh', ['-c', join, 'sh', exec, ...args], options);
}

function freshCgroup(t, name) {
  const dir = mkCgroup(join(BASE, name));
  t.defer(() => removeCgroupTree(dir));
  return dir;
}

async function unifiedHierarchy() {
  const mounts = readText('/proc/mounts');
  assert.match(mounts, /^cgroup2 \/sys\/fs\/cgroup cgroup2 /m);
  const controllers = readText(cgPath('cgroup.controllers')).trim().split(' ');
  for (const c of ['memory', 'pids', 'cpu']) assert.ok(controllers.includes(c), c);
  const enabled = readText(cgPath('cgroup.subtree_control')).trim().split(' ');
  for (const c of ['memory', 'pids', 'cpu']) assert.ok(enabled.includes(c), `+${c} enabled`);
}

async function oomKill(t) {
  const dir = freshCgroup(t, 'oom');
  writeText(join(dir, 'memory.max'), String(32 * MiB));
  writeText(join(dir, 'memory.swap.max'), '0');
  const run = await inCgroup(dir, join(FIXTURES, 'hog.sh'), []);
  t.log(`exit code=${run.code} signal=${run.signal} stderr=${run.stderr.trim()}`);
  assert.match(run.stdout, /hog started/);
  assert.equal(run.signal, 'SIGKILL');
  const events = readKeyValues(join(dir, 'memory.events'));
  assert.ok(events.oom_kill >= 1, `memory.events oom_kill=${events.oom_kill}`);
  assert.ok(events.max >= 1, `memory.events max=${events.max}`);
}

async function pidsMax(t) {
  const dir = freshCgroup(t, 'pids');
  writeText(join(dir, 'pids.max'), '4');
  const run = await inCgroup(dir, join(FIXTURES, 'forker.sh'), ['8']);
  t.log(`exit code=${run.code} stdout=${run.stdout.trim()} stderr=${run.stderr.trim()}`);
  assert.match(run.stderr, /can't fork|Resource temporarily unavailable/);
  assert.doesNotMatch(run.stdout, /all forked/);
  const events = readKeyValues(join(dir, 'pids.events'));
  assert.ok(events.max >= 1, `pids.events max=${events.max}`);
  const alive = procsOf(dir);
  assert.ok(alive.length >= 1 && alive.length <= 4, `alive sleepers: ${alive.length}`);
}

async function cgroupKill(t) {
  const dir = freshCgroup(t, 'kill');
  const pidfile = `/tmp/kernel-daemonize-${process.pid}`;
  const run = inCgroup(dir, join(FIXTURES, 'daemonize.sh'), [pidfile]);
  const pids = await pollUntil(
    () => {
      const text = existsSync(pidfile) ? readFileSync(pidfile, 'utf8') : '';
      const list = text.split('\n').filter(Boolean).map(Number);
      return list.length === 2 ? list : null;
    },
    { what: 'two grandchild pids' },
  );
  for (const pid of pids) assert.deepEqual(procsOf(dir).includes(pid), true, `${pid} in cgroup`);
  writeText(join(dir, 'cgroup.kill'), '1');
  const result = await run;
  assert.equal(result.signal, 'SIGKILL');
  await pollUntil(() => procsOf(dir).length === 0, { what: 'cgroup.procs empty' });
  await pollUntil(() => pids.every(isDead), { what: `grandchildren ${pids} dead` });
  const events = parseKeyValues(readText(join(dir, 'cgroup.events')));
  assert.equal(events.populated, 0);
}

export function kernelTests() {
  const { tests, test } = createRegistry('kernel');
  const cases = [
    ['unified-hierarchy-offers-memory-pids-cpu', unifiedHierarchy],
    ['memory-max-oom-kills-and-counts-in-memory-events', oomKill],
    ['pids-max-makes-fork-fail-and-keeps-earlier-processes', pidsMax],
    ['cgroup-kill-ends-reparented-grandchildren', cgroupKill],
  ];
  for (const [name, fn] of cases) test(name, fn);
  return tests;
}

/** Enable the controllers the suites need at the root (the VM's hierarchy is ours). */
export function prepareRoot() {
  writeText(cgPath('cgroup.subtree_control'), '+memory +pids +cpu');
  mkCgroup(BASE);
  writeText(join(BASE, 'cgroup.subtree_control'), '+memory +pids +cpu');
}
