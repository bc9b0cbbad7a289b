/**
 * What the daemon does when it goes quiet (main.ts, `releaseFreedHeap`): the addon's
 * `mallocTrim` hands freed C heap back to the kernel. Checked in a child Node that fills
 * 40 MiB of small malloc'd blocks (Buffer backing stores), frees all but the last (so glibc
 * cannot just lower the top of its heap), and reads RssAnon before and after the call. The
 * child collects on its own thread (`--single-threaded-gc`): the backing stores are freed
 * when `gc()` returns, with nothing left to wait for.
 */

import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../../testing/harness.js';

const addonPath = join(repoRoot, 'native', 'build', 'Release', 'shipote.node');

const script = `
const addon = require(process.argv[1]);
const status = () => require('node:fs').readFileSync('/proc/self/status', 'utf8');
const anonKiB = () => Number(/^RssAnon:\\s+(\\d+)/m.exec(status())[1]);
function fill() {
  const blocks = [];
  for (let i = 0; i < 20000; i++) blocks.push(Buffer.allocUnsafeSlow(2048));
  return blocks[blocks.length - 1];
}
const last = fill();
gc();
const beforeKiB = anonKiB();
const trimmed = process.argv[2] === 'trim' ? addon.mallocTrim() : false;
const afterKiB = anonKiB();
process.stdout.write(JSON.stringify({ beforeKiB, afterKiB, trimmed, kept: last.length }));
`;

function run(mode: 'trim' | 'none') {
  const out = spawnSync(
    process.execPath,
    ['--expose-gc', '--single-threaded-gc', '-e', script, addonPath, mode],
    { encoding: 'utf8' },
  );
  expect(out.stderr).toBe('');
  return JSON.parse(out.stdout) as { beforeKiB: number; afterKiB: number; trimmed: boolean };
}

describe('mallocTrim', () => {
  it('gives freed C heap back to the kernel', () => {
    const r = run('trim');
    expect(r.trimmed).toBe(true);
    // 40 MiB were freed; at least half of it leaves the process.
    expect(r.beforeKiB - r.afterKiB).toBeGreaterThan(20 * 1024);
  });

  it('is what gives it back: without the call the freed heap stays resident', () => {
    const r = run('none');
    expect(r.beforeKiB - r.afterKiB).toBeLessThan(1024);
    expect(r.beforeKiB).toBeGreaterThan(30 * 1024);
  });
});
