/**
 * The shipped systemd units: the socket each serves (`%t/shipote/shipote.sock`) is the one
 * the CLI picks by default for that manager's user, each unit is right for its manager
 * (NotifyAccess, install target), and `systemd-analyze verify` finds nothing to say.
 */

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { binPath, repoRoot } from '../../testing/harness.js';
import { resolveSocketPath } from '../store/paths.js';
import { parseDaemonArgs } from './entry.js';

const units = {
  system: readFileSync(join(repoRoot, 'examples', 'shipote.service'), 'utf8'),
  user: readFileSync(join(repoRoot, 'examples', 'shipote-user.service'), 'utf8'),
};

/** Every value of `key=` in the unit, in order. */
function values(unit: string, key: string): string[] {
  return unit
    .split('\n')
    .filter((l) => l.startsWith(`${key}=`))
    .map((l) => l.slice(key.length + 1));
}

function envOf(unit: string): Record<string, string> {
  const pairs = values(unit, 'Environment').flatMap((v) => v.split(/\s+/));
  return Object.fromEntries(
    pairs.map((p) => [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)]),
  );
}

function hasAnalyze(): boolean {
  try {
    execFileSync('systemd-analyze', ['--version'], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

describe('systemd units', () => {
  it('serve the socket the CLI picks by default for the user of their manager', () => {
    const systemSocket = envOf(units.system).SHIPOTE_SOCKET?.replace('%t', '/run');
    expect(systemSocket).toBe(resolveSocketPath({ XDG_RUNTIME_DIR: '/run/user/0' }, 0));
    const runtime = '/run/user/1000';
    const userSocket = envOf(units.user).SHIPOTE_SOCKET?.replace('%t', runtime);
    expect(userSocket).toBe(resolveSocketPath({ XDG_RUNTIME_DIR: runtime }, 1000));
  });

  it('each fits its manager', () => {
    expect(values(units.system, 'NotifyAccess')).toEqual(['main']);
    expect(values(units.system, 'WantedBy')).toEqual(['multi-user.target']);
    expect(values(units.user, 'NotifyAccess')).toEqual(['all']);
    expect(values(units.user, 'WantedBy')).toEqual(['default.target']);
    for (const unit of Object.values(units)) {
      expect(values(unit, 'Type')).toEqual(['notify']);
      expect(values(unit, 'ExecStart')).toEqual([expect.stringMatching(/\/shipote daemon$/)]);
      expect(values(unit, 'RuntimeDirectory')).toEqual(['shipote']);
    }
  });

  (hasAnalyze() ? it : it.skip)('pass systemd-analyze verify without a word', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shipote-units-'));
    try {
      const runtime = join(dir, 'xdg');
      execFileSync('mkdir', ['-m', '0700', runtime]);
      for (const [manager, text] of Object.entries(units)) {
        // ExecStart must name an executable that exists: the repository's bin.
        const unit = text.replace(/^ExecStart=\S+/m, `ExecStart=${binPath}`);
        const file = join(dir, manager === 'user' ? 'shipote-user.service' : 'shipote.service');
        writeFileSync(file, unit);
        const args = [...(manager === 'user' ? ['--user'] : []), 'verify', file];
        const env = { ...process.env, XDG_RUNTIME_DIR: runtime, SYSTEMD_LOG_COLOR: '0' };
        const script = `systemd-analyze ${args.join(' ')} 2>&1; echo "exit $?"`;
        const out = execFileSync('bash', ['-c', script], { env }).toString();
        expect({ manager, out }).toEqual({ manager, out: 'exit 0\n' });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the Kubernetes example', () => {
  const pod = readFileSync(join(repoRoot, 'examples', 'k8s', 'pod.yaml'), 'utf8');
  /** The `command: [...]` flow sequences (JSON-compatible) of the manifest. */
  const commands = [...pod.matchAll(/command: (\[.*\])$/gm)].map(
    (m) => JSON.parse(m[1] ?? '[]') as string[],
  );

  it('runs shipote daemon --apply as pid 1, with probes on shipote health', () => {
    const [main, ...probes] = commands;
    expect(main?.slice(0, 2)).toEqual(['shipote', 'daemon']);
    expect(parseDaemonArgs(main?.slice(2) ?? [])).toMatchObject({
      ok: true,
      init: true,
      applyFile: '/etc/shipote/apply.toml',
    });
    expect(probes).toEqual([
      ['shipote', 'health'],
      ['shipote', 'health'],
    ]);
    const graceS = Number(/terminationGracePeriodSeconds: (\d+)/.exec(pod)?.[1]);
    const graceMs = Number(main?.[main.indexOf('--grace') + 1]);
    expect(graceS * 1000).toBeGreaterThan(graceMs);
  });
});
