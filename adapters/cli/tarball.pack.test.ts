/**
 * The published package: `npm pack` (which builds dist/ on prepack), then
 * `npm install -g` of the tarball into a temporary prefix (which builds the addon from
 * native/src), then the installed `shipote`: --version, a daemon on a temp socket, health.
 * Runs as its own stage (`npm run jest -- --selectProjects pack`): it takes ~30 s.
 */

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import { repoRoot, waitFor } from '../../testing/harness.js';

jest.setTimeout(240_000);

const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
  version: string;
};

describe('the packed tarball installed into a temporary prefix', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shipote-pack-'));
  const prefix = join(dir, 'prefix');
  const bin = join(prefix, 'bin', 'shipote');
  const env = {
    ...process.env,
    SHIPOTE_CGROUPS: 'off',
    SHIPOTE_SOCKET: join(dir, 'run', 'shipote.sock'),
    SHIPOTE_STATE: join(dir, 'state', 'state.json'),
    SHIPOTE_NO_AUTOSTART: '1',
    NO_COLOR: '1',
  };
  let daemon: ChildProcess | null = null;

  beforeAll(() => {
    const npm = (args: string[], cwd: string) =>
      execFileSync('npm', args, { cwd, stdio: 'pipe', env: { ...process.env } }).toString();
    npm(['pack', '--pack-destination', dir], repoRoot);
    const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'));
    if (!tarball) throw new Error(`npm pack left no tarball in ${dir}`);
    const listing = execFileSync('tar', ['-tzf', join(dir, tarball)]).toString();
    expect(listing).toContain('package/dist/adapters/cli/main.js');
    expect(listing).toContain('package/native/src/addon.cc');
    expect(listing).not.toContain('package/native/build/');
    expect(listing).not.toMatch(/\.test\.(js|ts)\n/);
    npm(['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', join(dir, tarball)], dir);
  });

  afterAll(async () => {
    if (daemon && daemon.exitCode === null && daemon.signalCode === null) {
      const gone = new Promise((r) => daemon?.once('exit', r));
      process.kill(daemon.pid as number, 'SIGTERM');
      await gone;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('built the native addon on install', () => {
    const addon = join(prefix, 'lib', 'node_modules', 'shipote', 'native', 'build', 'Release');
    expect(existsSync(join(addon, 'shipote.node'))).toBe(true);
  });

  it('prints the version of package.json', () => {
    expect(execFileSync(bin, ['--version'], { env }).toString()).toBe(`${pkg.version}\n`);
  });

  it('runs a daemon that answers health, and stops on SIGTERM', async () => {
    const child = spawn(bin, ['daemon'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    daemon = child;
    let log = '';
    child.stderr?.on('data', (c) => {
      log += c;
    });
    const health = await waitFor('the installed daemon to answer health', () => {
      if (child.exitCode !== null) throw new Error(`daemon exited early:\n${log}`);
      try {
        return JSON.parse(
          execFileSync(bin, ['health', '--json'], { env, stdio: 'pipe' }).toString(),
        );
      } catch {
        return null;
      }
    });
    expect(health).toMatchObject({ workspaces: 0, commandsAlive: 0 });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    process.kill(child.pid as number, 'SIGTERM');
    expect(await exited).toBe(0);
  });
});
