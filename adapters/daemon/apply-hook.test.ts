/**
 * `shipote daemon --apply FILE` against the real daemon: the file is applied at start (its
 * services run before any client asks), and a refused file stops the daemon with exit 1 and
 * every issue in its log.
 */

import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import type { CommandView } from '../../core/engine/api.js';
import { cliCommand, Harness, harnessSkipReason, waitFor } from '../../testing/harness.js';

const why = harnessSkipReason();
const maybe = why ? describe.skip : describe;
jest.setTimeout(60_000);

maybe(`shipote daemon --apply${why ? ` (skipped: ${why})` : ''}`, () => {
  let h: Harness;
  beforeEach(() => {
    h = new Harness();
  });
  afterEach(async () => h.close());

  function daemonWith(file: string) {
    const child = spawn(process.execPath, [...cliCommand(), 'daemon', '--apply', file], {
      env: h.env(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    child.stdout?.on('data', (c) => {
      log += c;
    });
    child.stderr?.on('data', (c) => {
      log += c;
    });
    h.daemon = child;
    return { child, log: () => log };
  }

  it('applies the file at start', async () => {
    const file = join(h.dir, 'a.toml');
    writeFileSync(
      file,
      '[[workspaces]]\nlabel = "boot"\n[[services]]\nlabel = "svc"\nworkspace = "boot"\n' +
        'exec = "sleep"\nargv = ["1000"]\nrestart = "always"\n',
    );
    const d = daemonWith(file);
    const running = await waitFor('svc to run', async () => {
      const r = await h.cli(['commands', 'boot', '--json']);
      if (r.code !== 0) return null;
      const list = JSON.parse(r.stdout) as CommandView[];
      return list.find((c) => c.label === 'svc' && c.state === 'running');
    });
    expect(running.alive).toBe(true);
    expect(d.log()).toContain('apply: + service boot/svc');
  });

  it('stops with exit 1 and every issue when the file is refused', async () => {
    const file = join(h.dir, 'bad.toml');
    writeFileSync(file, '[[services]]\nlabel = "x"\nworkspace = "nowhere"\nexec = "/bin/true"\n');
    const d = daemonWith(file);
    const code = await new Promise<number | null>((resolve) => d.child.once('exit', resolve));
    h.daemon = null;
    expect(code).toBe(1);
    expect(d.log()).toContain(
      'services[0].workspace: no workspace "nowhere" in this file or in the daemon (line 3)',
    );
  });
});
