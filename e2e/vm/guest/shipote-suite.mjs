// The cgroup v2 path of shipote against the VM's real unified hierarchy, driven through the
// CLI (`--json`) of a real daemon that owns a delegated subtree. Every test checks both what
// the kernel shows (files in the cgroup, /proc) and what shipote reports.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createRegistry } from './harness.mjs';
import {
  DELEGATED,
  daemonInfo,
  dumpDaemonLog,
  missingParts,
  shipote,
  startDaemon,
  writeSpec,
} from './shipote-env.mjs';
import {
  cgPath,
  cgroupOf,
  isDead,
  MiB,
  pollUntil,
  procsOf,
  readKeyValues,
  readNumber,
  readText,
} from './util.mjs';

const FIXTURES = new URL('./fixtures/', import.meta.url).pathname;
let daemonProblem = null;

/** Skip reason for a shipote test: parts missing from the image, or no daemon. */
export function shipoteGate(test) {
  const missing = missingParts();
  if (missing) return missing;
  if (test.name !== 'shipote/daemon-starts-in-a-delegated-leaf' && daemonProblem) {
    return `no daemon: ${daemonProblem}`;
  }
  return null;
}

// ── helpers ─────────────────────────────────────────────────────────────────────────────

/** Create a workspace; its stop is deferred (a no-op when the test already stopped it). */
async function createWorkspace(t, label, limits) {
  const spec = writeSpec(label, limits);
  const made = await shipote(['workspace', 'create', spec]);
  assert.match(made.id, /^[0-9A-HJKMNP-TV-Z]{26}$/, 'workspace id is a ULID');
  if (made.warnings.length > 0) t.log(`warnings: ${made.warnings.join('; ')}`);
  t.defer(() => shipote(['workspace', 'stop', made.id, '--grace', '0'], { allowFail: true }));
  return made;
}

function run(ws, argv) {
  return shipote(['run', ws, '--', ...argv]);
}

async function waitExited(ws, cmdId) {
  return pollUntil(
    async () => {
      const list = await shipote(['commands', ws]);
      const cmd = list.find((c) => c.id === cmdId);
      return cmd && !cmd.alive && cmd.exit ? cmd : null;
    },
    { what: `command ${cmdId} to exit`, timeoutMs: 30_000, intervalMs: 200 },
  );
}

function logsOf(ws, cmdId, stream) {
  return shipote(['logs', ws, cmdId, `--${stream}`], { json: false });
}

/**
 * Start `sleep 600` in the workspace and return the absolute cgroup dir the kernel shows for
 * it, after checking it is `<delegated subtree>/…/<rel>`.
 */
async function probeCgroup(ws, rel) {
  const probe = await run(ws, ['/bin/sleep', '600']);
  assert.ok(probe.pid > 0, 'probe has a pid');
  const path = cgroupOf(probe.pid);
  assert.ok(path?.endsWith(`/${rel}`), `probe cgroup ${path} ends with /${rel}`);
  assert.ok(cgPath(path).startsWith(`${DELEGATED}/`), `${path} is inside ${DELEGATED}`);
  return { dir: cgPath(path), path, pid: probe.pid };
}

/** Stop with grace 0, then: every listed pid dead, the cgroup dir gone, the ws stopped. */
async function stopAndCheck(ws, dir, pids) {
  const stopped = await shipote(['workspace', 'stop', ws, '--grace', '0']);
  assert.equal(typeof stopped.reaped, 'number', 'stop reports a reaped count');
  await pollUntil(() => pids.every(isDead), { what: `pids ${pids.join(',')} dead` });
  await pollUntil(() => !existsSync(dir), { what: `${dir} removed after stop` });
  const list = await shipote(['workspace', 'list']);
  const view = list.find((w) => w.id === ws);
  assert.ok(!view || view.state === 'stopped', `workspace state after stop: ${view?.state}`);
  return stopped;
}

/** Wait until `path` lists `count` pids (one a line), written by a fixture. */
function pidsFromFile(path, count) {
  return pollUntil(
    () => {
      const text = existsSync(path) ? readFileSync(path, 'utf8') : '';
      const pids = text.split('\n').filter(Boolean).map(Number);
      return pids.length === count ? pids : null;
    },
    { what: `${count} pids in ${path}` },
  );
}

/** `events --json` prints one LifecycleEvent per line: the `oom` ones of a workspace. */
async function oomEventsFor(wsId) {
  const text = await shipote(['events', '--json', '--history', '1000'], { json: false });
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l))
    .filter((e) => e.ev === 'oom' && e.fields?.ws === wsId);
}

// ── tests ───────────────────────────────────────────────────────────────────────────────

async function daemonStarts() {
  try {
    const d = await startDaemon();
    const at = cgPath(d.cgroup);
    assert.ok(at === d.home || at.startsWith(`${d.home}/`), `daemon in ${at}, under ${d.home}`);
    const health = await shipote(['health'], { spawn: true });
    assert.equal(health.workspaces, 0);
  } catch (error) {
    daemonProblem = error.message;
    throw error;
  }
}

async function capsV2Delegated(t) {
  const caps = await shipote(['caps'], { spawn: true });
  t.log(`caps: ${JSON.stringify(caps)}`);
  assert.equal(caps.version, 'v2');
  assert.equal(caps.delegated, true, `delegated (reasons: ${caps.reasons})`);
  assert.equal(caps.writable, true);
  for (const c of ['memory', 'pids']) assert.ok(caps.controllers.includes(c), c);
  assert.equal(caps.cloneIntoCgroup, true, 'CLONE_INTO_CGROUP available on 6.1');
  assert.equal(caps.pidfd, true);
  // Kernel side: what caps names exists, holds the daemon or its leaf, offers the controllers.
  assert.equal(caps.root, daemonInfo().home, 'caps.root is the cgroup the daemon started in');
  const offered = readText(join(caps.root, 'cgroup.controllers')).trim().split(' ');
  for (const c of ['memory', 'pids']) assert.ok(offered.includes(c), `kernel offers ${c}`);
}

async function placement(t) {
  const rel = 'e2e/place';
  const ws = await createWorkspace(t, 'vm-place', { memBytes: 64 * MiB, nproc: 16, cgroup: rel });
  // cat's first action reads /proc/self/cgroup: with CLONE_INTO_CGROUP (or a join before
  // exec) it can only ever see the workspace cgroup.
  const cat = await run(ws.id, ['/bin/cat', '/proc/self/cgroup']);
  const done = await waitExited(ws.id, cat.id);
  assert.equal(done.exit.code, 0);
  const probe = await probeCgroup(ws.id, rel);
  const seen = (await logsOf(ws.id, cat.id, 'stdout')).trim();
  assert.equal(seen, `0::${probe.path}`);
  assert.equal(readNumber(join(probe.dir, 'memory.max')), 64 * MiB);
  assert.equal(readNumber(join(probe.dir, 'pids.max')), 16);
  // No internal processes: the daemon now lives in a leaf inside the subtree it delegates.
  const home = daemonInfo().home;
  const daemonAt = cgPath(cgroupOf(daemonInfo().pid));
  assert.ok(daemonAt.startsWith(`${home}/`), `daemon moved to a leaf under ${home}: ${daemonAt}`);
  assert.deepEqual(procsOf(home), [], `${home} holds no processes`);
  const delegated = readText(join(home, 'cgroup.subtree_control')).trim().split(' ');
  for (const c of ['memory', 'pids']) assert.ok(delegated.includes(c), `+${c} in ${home}`);
  await stopAndCheck(ws.id, probe.dir, [probe.pid]);
}

async function oomKill(t) {
  const rel = 'e2e/oom';
  const ws = await createWorkspace(t, 'vm-oom', { memBytes: 32 * MiB, cgroup: rel });
  const probe = await probeCgroup(ws.id, rel);
  assert.equal(readNumber(join(probe.dir, 'memory.max')), 32 * MiB);
  const hog = await run(ws.id, [join(FIXTURES, 'hog.sh')]);
  const dead = await waitExited(ws.id, hog.id);
  t.log(`hog exit: ${JSON.stringify(dead.exit)}`);
  assert.equal(dead.exit.signal, 'SIGKILL');
  assert.equal(dead.exit.status, 137);
  const kernelOoms = readKeyValues(join(probe.dir, 'memory.events')).oom_kill;
  assert.ok(kernelOoms >= 1, `memory.events oom_kill=${kernelOoms}`);
  const events = await pollUntil(
    async () => {
      const found = await oomEventsFor(ws.id);
      return found.some((e) => e.fields.oom_kills === kernelOoms) ? found : null;
    },
    { what: `an oom event for ${ws.id} with oom_kills=${kernelOoms}`, timeoutMs: 20_000 },
  );
  t.log(`shipote: ${events.map((e) => JSON.stringify(e)).join(' | ')}`);
  assert.equal(events.at(-1).fields.cmd, hog.id, 'the event names the killed command');
  assert.ok(!isDead(probe.pid), 'the rest of the workspace survives the OOM kill');
  await stopAndCheck(ws.id, probe.dir, [probe.pid]);
}

async function pidsMax(t) {
  const rel = 'e2e/pids';
  const ws = await createWorkspace(t, 'vm-pids', { nproc: 4, cgroup: rel });
  const probe = await probeCgroup(ws.id, rel);
  assert.equal(readNumber(join(probe.dir, 'pids.max')), 4);
  const forker = await run(ws.id, [join(FIXTURES, 'forker.sh'), '8']);
  const dead = await waitExited(ws.id, forker.id);
  const stderr = await logsOf(ws.id, forker.id, 'stderr');
  t.log(`forker exit ${JSON.stringify(dead.exit)}; stderr: ${stderr.trim()}`);
  assert.notEqual(dead.exit.status, 0);
  assert.match(stderr, /can't fork|Resource temporarily unavailable/);
  assert.ok(readKeyValues(join(probe.dir, 'pids.events')).max >= 1, 'pids.events max >= 1');
  const alive = procsOf(probe.dir);
  assert.ok(alive.length >= 2 && alive.length <= 4, `${alive.length} alive (probe + sleepers)`);
  const list = await shipote(['workspace', 'list']);
  assert.equal(list.find((w) => w.id === ws.id)?.state, 'running', 'workspace survives');
  const quota = await pollUntil(
    async () => {
      const q = await shipote(['workspace', 'quota', ws.id]);
      return q.usage.nprocAlive === procsOf(probe.dir).length ? q : null;
    },
    { what: 'quota nprocAlive to match cgroup.procs', timeoutMs: 20_000, intervalMs: 500 },
  );
  assert.equal(quota.limits.nproc, 4);
  assert.equal(quota.source, 'cgroup');
  // Fill the cgroup to pids.max, then one more spawn is refused by the kernel: a clear
  // error from `run`, not a process that dies later.
  for (let n = procsOf(probe.dir).length; n < 4; n++) await run(ws.id, ['/bin/sleep', '600']);
  assert.equal(readNumber(join(probe.dir, 'pids.current')), 4);
  const refused = await shipote(['run', ws.id, '--', '/bin/true'], { allowFail: true });
  t.log(`run in a full cgroup: exit ${refused.code}: ${refused.stderr.trim()}`);
  assert.equal(refused.code, 1, 'a spawn the kernel refuses is an operation failure');
  await stopAndCheck(ws.id, probe.dir, [probe.pid, ...procsOf(probe.dir)]);
}

async function stopKillsGrandchildren(t) {
  const rel = 'e2e/kill';
  const ws = await createWorkspace(t, 'vm-kill', { cgroup: rel });
  const pidfile = '/tmp/vm-kill.pids';
  rmSync(pidfile, { force: true });
  const cmd = await run(ws.id, [join(FIXTURES, 'daemonize.sh'), pidfile]);
  const grandchildren = await pidsFromFile(pidfile, 2);
  const dir = cgPath(cgroupOf(grandchildren[0]));
  assert.ok(dir.endsWith(`/${rel}`), `grandchild cgroup ${dir}`);
  for (const pid of grandchildren) {
    const ppid = Number(readText(`/proc/${pid}/stat`).split(') ')[1]?.split(' ')[1]);
    assert.notEqual(ppid, cmd.pid, `grandchild ${pid} re-parented (ppid ${ppid})`);
    assert.ok(procsOf(dir).includes(pid), `grandchild ${pid} is in ${dir}`);
  }
  const stopped = await stopAndCheck(ws.id, dir, [cmd.pid, ...grandchildren]);
  t.log(`reaped ${stopped.reaped}`);
}

async function statsFromCgroup(t) {
  const rel = 'e2e/stats';
  const ws = await createWorkspace(t, 'vm-stats', { cgroup: rel });
  const probe = await probeCgroup(ws.id, rel);
  const ballast = '/dev/shm/vm-stats-ballast';
  t.defer(() => rmSync(ballast, { force: true }));
  // An exited burner and a tmpfs file: both stay charged to the cgroup (cpu.stat,
  // memory.current) but no live process shows them, so only cgroup stats can report them.
  const script = [
    `head -c ${16 * MiB} /dev/zero > ${ballast}`,
    'i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done',
  ].join('; ');
  const burner = await run(ws.id, ['/bin/sh', '-c', script]);
  assert.equal((await waitExited(ws.id, burner.id)).exit.code, 0);
  const usageUs = readKeyValues(join(probe.dir, 'cpu.stat')).usage_usec;
  const memBytes = readNumber(join(probe.dir, 'memory.current'));
  t.log(`kernel: usage_usec=${usageUs} memory.current=${memBytes}`);
  assert.ok(memBytes >= 16 * MiB, 'the ballast is charged to the cgroup');
  const stats = await pollUntil(
    async () => {
      const s = await shipote(['workspace', 'stats', ws.id]);
      return s.source === 'cgroup' && s.cpuUs >= usageUs * 0.95 ? s : null;
    },
    { what: `stats with source cgroup and cpuUs ~ ${usageUs}`, timeoutMs: 20_000 },
  );
  t.log(`shipote: cpuUs=${stats.cpuUs} rssBytes=${stats.rssBytes} peak=${stats.rssPeakBytes}`);
  const usageAfterUs = readKeyValues(join(probe.dir, 'cpu.stat')).usage_usec;
  assert.ok(stats.cpuUs <= usageAfterUs, `cpuUs ${stats.cpuUs} <= usage_usec ${usageAfterUs}`);
  const memNow = readNumber(join(probe.dir, 'memory.current'));
  const slack = memNow * 0.25 + MiB;
  assert.ok(Math.abs(stats.rssBytes - memNow) <= slack, `rss ${stats.rssBytes} ~ ${memNow}`);
  assert.ok(stats.rssPeakBytes >= stats.rssBytes);
  assert.ok(stats.commandsAlive >= 1);
  await stopAndCheck(ws.id, probe.dir, [probe.pid]);
}

async function graceEscalates(t) {
  const rel = 'e2e/grace';
  const ws = await createWorkspace(t, 'vm-grace', { cgroup: rel });
  const pidfile = '/tmp/vm-grace.pids';
  rmSync(pidfile, { force: true });
  const cmd = await run(ws.id, [join(FIXTURES, 'stubborn.sh'), pidfile]);
  const [grandchild] = await pidsFromFile(pidfile, 1);
  const dir = cgPath(cgroupOf(grandchild));
  assert.ok(dir.endsWith(`/${rel}`), `grandchild cgroup ${dir}`);
  const graceMs = 1500;
  const started = performance.now();
  const stopped = await shipote(['workspace', 'stop', ws.id, '--grace', String(graceMs)]);
  const tookMs = Math.round(performance.now() - started);
  t.log(`stop --grace ${graceMs}: reaped ${stopped.reaped} in ${tookMs} ms`);
  // Both ignore SIGTERM: the stop can only end after the grace, with SIGKILL.
  assert.ok(tookMs >= graceMs, `stop waited the grace (${tookMs} ms)`);
  await pollUntil(() => isDead(cmd.pid) && isDead(grandchild), { what: 'TERM-ignorers dead' });
  await pollUntil(() => !existsSync(dir), { what: `${dir} removed after stop` });
}

async function escapeRefused(t) {
  const spec = writeSpec('vm-escape', { cgroup: '../escaped' });
  const made = await shipote(['workspace', 'create', spec], { allowFail: true });
  t.log(`create with path ../escaped: exit ${made.code}: ${made.stderr.trim()}`);
  assert.equal(made.code, 1, 'an escaping cgroup path is an invalid spec');
  assert.match(made.stderr, /escape|\.\./);
  assert.equal(existsSync(cgPath('escaped')), false, 'nothing created beside the subtree');
  const list = await shipote(['workspace', 'list']);
  assert.equal(
    list.some((w) => w.label === 'vm-escape'),
    false,
  );
}

export function shipoteTests() {
  const { tests, test } = createRegistry('shipote');
  const cases = [
    ['daemon-starts-in-a-delegated-leaf', daemonStarts],
    ['caps-reports-v2-with-memory-and-pids-delegated', capsV2Delegated],
    ['child-starts-inside-its-workspace-cgroup', placement],
    ['memory-max-oom-kill-is-reported-with-memory-events', oomKill],
    ['pids-max-fails-a-fork-and-the-workspace-survives', pidsMax],
    ['stop-kills-reparented-grandchildren-and-removes-the-cgroup', stopKillsGrandchildren],
    ['stats-come-from-memory-current-and-cpu-stat', statsFromCgroup],
    ['stop-grace-escalates-to-kill-for-term-ignoring-grandchildren', graceEscalates],
    ['cgroup-path-escaping-the-subtree-is-refused', escapeRefused],
  ];
  for (const [name, fn] of cases) test(name, fn, { timeoutMs: 120_000 });
  return tests;
}

/** On a failure, the daemon's log tail is the first thing to read. */
export function afterShipoteFailure() {
  dumpDaemonLog();
}
