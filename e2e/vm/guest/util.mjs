// Guest-side helpers: cgroupfs reads and writes, polling with a deadline, child processes.
import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';

export const CGROUP_MOUNT = '/sys/fs/cgroup';

export function cgPath(...parts) {
  return join(CGROUP_MOUNT, ...parts);
}

export function readText(path) {
  return readFileSync(path, 'utf8');
}

export function writeText(path, text) {
  try {
    writeFileSync(path, text);
  } catch (error) {
    throw new Error(`write ${JSON.stringify(text)} to ${path}: ${error.message}`);
  }
}

/** `key value` lines (memory.events, cpu.stat, pids.events) → numbers by key. */
export function parseKeyValues(text) {
  const out = {};
  for (const line of text.split('\n')) {
    const [key, value] = line.trim().split(/\s+/);
    if (key && value !== undefined) out[key] = Number(value);
  }
  return out;
}

export function readKeyValues(path) {
  return parseKeyValues(readText(path));
}

export function readNumber(path) {
  const text = readText(path).trim();
  return text === 'max' ? Number.POSITIVE_INFINITY : Number(text);
}

export function procsOf(dir) {
  return readText(join(dir, 'cgroup.procs'))
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map(Number);
}

/** Create a cgroup dir (idempotent). */
export function mkCgroup(dir) {
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Kill everything in a cgroup subtree and remove it, leaves first. Best effort for cleanup. */
export async function removeCgroupTree(dir) {
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir)) {
    const child = join(dir, name);
    if (statSync(child).isDirectory()) await removeCgroupTree(child);
  }
  if (existsSync(join(dir, 'cgroup.kill'))) writeText(join(dir, 'cgroup.kill'), '1');
  await pollUntil(() => procsOf(dir).length === 0, { what: `${dir} empty`, timeoutMs: 10_000 });
  rmdirSync(dir);
}

/** Enable controllers in a cgroup's subtree_control (`+memory +pids`). */
export function enableControllers(dir, controllers) {
  writeText(join(dir, 'cgroup.subtree_control'), controllers.map((c) => `+${c}`).join(' '));
}

/**
 * Call `probe` until it returns a truthy value; return that value. Throws after `timeoutMs`
 * naming `what` and the last value seen, or at once when `abort()` returns a reason (a
 * process the wait depends on has died). Never a bare sleep.
 */
export async function pollUntil(probe, options = {}) {
  const { what, timeoutMs = 15_000, intervalMs = 50, abort = () => null } = options;
  const deadline = performance.now() + timeoutMs;
  let last;
  for (;;) {
    const stop = abort();
    if (stop) throw new Error(`${stop} while waiting for ${what}`);
    try {
      last = await probe();
      if (last) return last;
    } catch (error) {
      last = `threw: ${error.message}`;
    }
    if (performance.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${show(last)})`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

function show(value) {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return (text ?? String(value)).slice(0, 200);
}

/**
 * Run a program to completion; resolves {code, signal, stdout, stderr}. Kills it (SIGKILL)
 * after `timeoutMs` and rejects.
 */
export function runCapture(exec, args, { timeoutMs = 60_000, env, input } = {}) {
  return new Promise((resolve, reject) => {
    const stdin = input === undefined ? 'ignore' : 'pipe';
    const child = spawn(exec, args, { env: env ?? process.env, stdio: [stdin, 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${exec} ${args.join(' ')}: no exit within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    if (child.stdin) {
      child.stdin.on('error', () => {}); // EPIPE: the child did not read its input
      child.stdin.end(input);
    }
  });
}

/** 'gone', or the state letter of /proc/<pid>/stat (R, S, Z, …). */
export function procState(pid) {
  try {
    const stat = readText(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return 'gone';
  }
}

/** True when the process no longer runs (gone or a zombie awaiting its reaper). */
export function isDead(pid) {
  const state = procState(pid);
  return state === 'gone' || state === 'Z' || state === 'X';
}

/** The v2 line of /proc/<pid>/cgroup (`0::/path`) → '/path'. */
export function cgroupOf(pid = 'self') {
  const line = readText(`/proc/${pid}/cgroup`)
    .split('\n')
    .find((l) => l.startsWith('0::'));
  return line ? line.slice(3) : null;
}

export const MiB = 1024 * 1024;
