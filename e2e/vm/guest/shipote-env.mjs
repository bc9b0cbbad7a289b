// The shipote side of the guest: a real daemon that owns a delegated subtree, and the CLI as
// a user runs it (`node bin/shipote.mjs … --json`).
//
// Delegation as systemd's Delegate=yes does it: the daemon is started inside
//   /sys/fs/cgroup/shipote                 (memory, pids, cpu offered by the root)
// and owns everything below. cgroup v2 forbids processes in a cgroup that hands controllers
// down, so on its first workspace the cgroups adapter moves the daemon into a leaf of its
// own cgroup and enables the controllers; workspace cgroups are `<own cgroup>/<spec path>`.
// SHIPOTE_VM_DAEMON_LEAF=name starts the daemon in a pre-made leaf instead (the adapter
// then treats that leaf as its own cgroup).
import { spawn } from 'node:child_process';
import { existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { emit } from './harness.mjs';
import {
  cgPath,
  cgroupOf,
  enableControllers,
  isDead,
  mkCgroup,
  pollUntil,
  runCapture,
} from './util.mjs';

export const PROJECT = '/shipote';
export const CLI = join(PROJECT, 'bin/shipote.mjs');
export const DELEGATED = cgPath('shipote');
const LEAF = process.env.SHIPOTE_VM_DAEMON_LEAF ?? '';
const RUN_DIR = '/run/shipote-e2e';
const SOCKET = join(RUN_DIR, 'shipote.sock');
const STATE = join(RUN_DIR, 'state.json');
const DAEMON_LOG = join(RUN_DIR, 'daemon.log');

/** Environment for the daemon and every CLI call: fixed socket, no autostart, no colour. */
export const cliEnv = {
  ...process.env,
  SHIPOTE_SOCKET: SOCKET,
  SHIPOTE_NO_AUTOSTART: '1',
  NO_COLOR: '1',
  XDG_STATE_HOME: RUN_DIR,
  PATH: '/bin:/sbin:/usr/bin:/usr/sbin',
};

/** Why the shipote tests cannot run in this image, or null. */
export function missingParts() {
  const needs = [
    [CLI, 'bin/shipote.mjs'],
    [join(PROJECT, 'dist/adapters/cli/main.js'), 'dist/ (npm run build)'],
    [join(PROJECT, 'native/build/Release'), 'the native addon (native/build/Release)'],
  ];
  const missing = needs.filter(([path]) => !existsSync(path)).map(([, what]) => what);
  return missing.length > 0 ? `not in the image: ${missing.join(', ')}` : null;
}

/**
 * Run the CLI; resolves parsed JSON (when `json`) or stdout. A non-zero exit rejects with
 * the exit code and stderr, unless `allowFail` (then resolves {code, stdout, stderr}).
 *
 * By default the CLI runs in this process: `runCli(argv, io)` from dist/adapters/cli/main.js,
 * the function bin/shipote.mjs calls, with the same env. Under TCG a node start costs 3–5 s,
 * so spawning one per call would dominate the suite; `spawn: true` runs the real
 * `node bin/shipote.mjs` (used for the daemon, health and caps, so the entry is proven too).
 */
export async function shipote(args, options = {}) {
  const { json = true, allowFail = false, spawn: asProcess = false, timeoutMs = 60_000 } = options;
  const full = json ? withJson(args) : args;
  const run = asProcess
    ? await runCapture('/usr/bin/node', [CLI, ...full], { env: cliEnv, timeoutMs })
    : await runInProcess(full);
  if (allowFail) return run;
  if (run.code !== 0) {
    const err = run.stderr.trim() || run.stdout.trim();
    throw new Error(`shipote ${full.join(' ')} exited ${run.code}: ${err}`);
  }
  if (!json) return run.stdout;
  try {
    return JSON.parse(run.stdout);
  } catch {
    throw new Error(`shipote ${full.join(' ')}: not JSON: ${run.stdout.slice(0, 200)}`);
  }
}

let cliModule = null;

async function runInProcess(argv) {
  cliModule ??= await import(join(PROJECT, 'dist/adapters/cli/main.js'));
  let stdout = '';
  let stderr = '';
  const io = {
    out: (text) => {
      stdout += typeof text === 'string' ? text : Buffer.from(text).toString('utf8');
    },
    err: (text) => {
      stderr += text;
    },
    env: cliEnv,
    uid: 0,
    color: false,
  };
  const code = await cliModule.runCli(argv, io);
  return { code, signal: null, stdout, stderr };
}

/** `--json` goes before a `--` separator (everything after it is the command's argv). */
function withJson(args) {
  const sep = args.indexOf('--');
  return sep < 0 ? [...args, '--json'] : [...args.slice(0, sep), '--json', ...args.slice(sep)];
}

let daemon = null;

/** The started daemon ({pid, cgroupDir}) or null. */
export function daemonInfo() {
  return daemon;
}

/** Set up the delegated subtree, start `shipote daemon` in its leaf, wait until it answers. */
export async function startDaemon() {
  mkCgroup(DELEGATED);
  if (LEAF) enableControllers(DELEGATED, ['memory', 'pids', 'cpu']);
  const home = LEAF ? mkCgroup(join(DELEGATED, LEAF)) : DELEGATED;
  mkCgroup(RUN_DIR);
  const out = openSync(DAEMON_LOG, 'a');
  // The wrapper joins the cgroup first, then execs node: the daemon never runs elsewhere.
  const script = [
    `echo $$ > ${home}/cgroup.procs`,
    `exec /usr/bin/node ${CLI} daemon --socket ${SOCKET} --state ${STATE}`,
  ].join(' && ');
  const child = spawn('/bin/sh', ['-c', script], {
    cwd: PROJECT,
    env: cliEnv,
    stdio: ['ignore', out, out],
  });
  let exited = null;
  child.once('exit', (code, signal) => {
    exited = `daemon exited (code ${code}, signal ${signal})`;
  });
  try {
    await pollUntil(
      async () => {
        const run = await runCapture('/usr/bin/node', [CLI, 'health', '--json'], {
          env: cliEnv,
          timeoutMs: 20_000,
        });
        return run.code === 0;
      },
      {
        what: `the daemon to answer on ${SOCKET}`,
        timeoutMs: 45_000,
        intervalMs: 250,
        abort: () => exited,
      },
    );
  } catch (error) {
    dumpDaemonLog();
    throw error;
  }
  daemon = { pid: child.pid, child, cgroup: cgroupOf(child.pid), home };
  return daemon;
}

export async function stopDaemon() {
  if (!daemon) return;
  daemon.child.kill('SIGTERM');
  await pollUntil(() => isDead(daemon.pid), { what: 'daemon exit', timeoutMs: 15_000 });
  daemon = null;
}

/** Copy the daemon's log onto the console as detail lines (for a failure's post-mortem). */
export function dumpDaemonLog(lastLines = 40) {
  if (!existsSync(DAEMON_LOG)) return;
  const lines = readFileSync(DAEMON_LOG, 'utf8').trimEnd().split('\n').slice(-lastLines);
  for (const line of lines) emit(`# daemon.log: ${line}`);
}

/** Write a workspace spec (contract §1) to /tmp and return its path. */
export function writeSpec(label, { memBytes = 0, nproc = 0, cgroup, enforce = 'log' }) {
  const text = [
    `label = "${label}"`,
    'on_exit = "reap"',
    '[soma.rlimits]',
    `mem_bytes = ${memBytes}`,
    `nproc = ${nproc}`,
    '[soma.cgroup]',
    `path = "${cgroup}"`,
    '[quota_enforce]',
    `mem = "${enforce}"`,
    `nproc = "${enforce}"`,
    '',
  ].join('\n');
  const path = `/tmp/${label}.toml`;
  writeFileSync(path, text);
  return path;
}
