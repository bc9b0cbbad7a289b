/**
 * Test harness: a real daemon (`node bin/shipote.mjs daemon`) on a temp socket with a
 * temp state file, and the real CLI against it. Needs `npm run build` and the native
 * addon; `harnessSkipReason()` says what is missing so suites skip with the reason.
 */

import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { withJsonFlag } from '../adapters/cli/argv.js';
import { socketAnswers } from '../adapters/control/server.js';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
export const binPath = join(repoRoot, 'bin', 'shipote.mjs');
const distDaemon = join(repoRoot, 'dist', 'adapters', 'daemon', 'main.js');
const distLinux = join(repoRoot, 'dist', 'adapters', 'linux', 'index.js');
const distAddon = join(repoRoot, 'dist', 'adapters', 'linux', 'addon.js');
const addonPath = join(repoRoot, 'native', 'build', 'Release', 'shipote.node');

/**
 * How the CLI is started: `node bin/shipote.mjs` (the compiled dist/, the default), or
 * with SHIPOTE_IT_RUNNER=tsx straight from the TypeScript sources (development).
 */
export function cliCommand(): string[] {
  if (process.env.SHIPOTE_IT_RUNNER === 'tsx') {
    const loader = pathToFileURL(join(repoRoot, 'node_modules', 'tsx', 'dist', 'loader.mjs'));
    return ['--import', loader.href, join(repoRoot, 'adapters', 'cli', 'main.ts')];
  }
  return [binPath];
}

export function harnessSkipReason(): string | null {
  if (process.platform !== 'linux') return 'needs Linux';
  if (process.env.SHIPOTE_IT_RUNNER === 'tsx') {
    return existsSync(addonPath) ? null : 'native addon not built: run `npm run install`';
  }
  if (!existsSync(distDaemon)) return 'dist/ missing: run `npm run build` first';
  if (!existsSync(distLinux)) return 'dist/adapters/linux/index.js missing (Linux adapter)';
  if (!existsSync(addonPath)) return 'native addon not built: run `npm run install`';
  return distAddonProblem();
}

/** Whether the compiled Linux adapter can load the addon (its path is relative to dist/). */
function distAddonProblem(): string | null {
  const url = JSON.stringify(pathToFileURL(distAddon).href);
  const probe = `import(${url}).then((m) => m.loadAddon())`;
  try {
    execFileSync(process.execPath, ['-e', probe], { stdio: 'pipe', timeout: 10_000 });
    return null;
  } catch (error) {
    const stderr = String((error as { stderr?: Buffer }).stderr ?? '');
    const line = /Error: (.*)/.exec(stderr)?.[1] ?? 'it fails to load';
    return `dist/adapters/linux cannot load the native addon: ${line}`;
  }
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Whether `pid` exists (signal 0; a zombie still counts). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function waitFor<T>(
  what: string,
  probe: () => T | null | undefined | false | Promise<T | null | undefined | false>,
  deadlineMs = 20_000,
): Promise<T> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > until) throw new Error(`timed out after ${deadlineMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export class Harness {
  readonly dir: string;
  readonly socketPath: string;
  readonly statePath: string;
  daemon: ChildProcess | null = null;
  daemonLog = '';

  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), 'shipote-it-'));
    this.socketPath = join(this.dir, 'run', 'shipote.sock');
    this.statePath = join(this.dir, 'state', 'state.json');
  }

  env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    return {
      ...process.env,
      SHIPOTE_SOCKET: this.socketPath,
      SHIPOTE_STATE: this.statePath,
      SHIPOTE_NO_AUTOSTART: '1',
      // Never let a test daemon write the host's cgroup tree.
      SHIPOTE_CGROUPS: 'off',
      NO_COLOR: '1',
      ...extra,
    };
  }

  async startDaemon(): Promise<ChildProcess> {
    const child = spawn(process.execPath, [...cliCommand(), 'daemon'], {
      env: this.env(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.daemon = child;
    this.daemonLog = '';
    child.stdout?.on('data', (c) => {
      this.daemonLog += c;
    });
    child.stderr?.on('data', (c) => {
      this.daemonLog += c;
    });
    let exited = false;
    child.once('exit', () => {
      exited = true;
    });
    await waitFor('the daemon to answer', async () => {
      if (exited) throw new Error(`daemon exited early:\n${this.daemonLog}`);
      return socketAnswers(this.socketPath);
    });
    return child;
  }

  /** SIGKILL the daemon and wait for it to be gone. */
  async killDaemon(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.daemon;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((r) => child.once('exit', r));
    child.kill(signal);
    await gone;
    this.daemon = null;
  }

  cli(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<CliResult> {
    return new Promise((resolve) => {
      execFile(
        process.execPath,
        [...cliCommand(), ...args],
        { env: this.env(extraEnv), cwd: this.dir, maxBuffer: 64 * 1024 * 1024 },
        (error, stdout, stderr) => {
          const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
          resolve({ code, stdout, stderr });
        },
      );
    });
  }

  async json<T = unknown>(args: string[]): Promise<T> {
    const withJson = withJsonFlag(args);
    const r = await this.cli(withJson);
    if (r.code !== 0) throw new Error(`shipote ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
    return JSON.parse(r.stdout) as T;
  }

  async close(): Promise<void> {
    await this.killDaemon('SIGTERM');
    rmSync(this.dir, { recursive: true, force: true });
  }
}
