/**
 * bin/shipote.cjs runs the CLI's bundle with V8's code cache beside it: the first run writes
 * the cache, later runs use it as it is, and a cache that no longer fits (damaged, another
 * bundle) is never handed to V8 — the run compiles the bundle as usual and writes a new one.
 * On a copy of bin/ and the built bundle in a temp tree, so dist/ is left alone.
 */

import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import vm from 'node:vm';
import { repoRoot } from '../../testing/harness.js';

const built = join(repoRoot, 'dist', 'adapters', 'cli', 'cli.bundle.cjs');
const maybe = existsSync(built) ? describe : describe.skip;
if (!existsSync(built)) console.warn('code-cache.test.ts: skipped: run `npm run build` first');

let root: string;
let cliDir: string;
let bundle: string;
let cache: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'shipote-code-cache-'));
  cliDir = join(root, 'dist', 'adapters', 'cli');
  mkdirSync(join(root, 'bin'));
  mkdirSync(cliDir, { recursive: true });
  for (const file of ['shipote.cjs', 'shipote.mjs']) {
    copyFileSync(join(repoRoot, 'bin', file), join(root, 'bin', file));
  }
  copyFileSync(join(repoRoot, 'package.json'), join(root, 'package.json'));
  writeFileSync(join(cliDir, 'main.js'), 'throw new Error("the bundle should have run");\n');
  utimesSync(join(cliDir, 'main.js'), new Date(1_000_000), new Date(1_000_000));
  bundle = join(cliDir, 'cli.bundle.cjs');
  cache = `${bundle}.cache`;
  copyFileSync(built, bundle);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const version = (
  JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
    version: string;
  }
).version;

function shipoteVersion(entry = 'shipote.cjs'): string {
  return execFileSync(process.execPath, [join(root, 'bin', entry), '--version'], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

const header = () => readFileSync(cache).toString('latin1', 0, readFileSync(cache).indexOf(10));

maybe('the CLI bundle with a code cache', () => {
  it('is written by the first run and used as it is by the next', () => {
    expect(existsSync(cache)).toBe(false);
    expect(shipoteVersion()).toBe(`${version}\n`);
    const first = readFileSync(cache);
    expect(header()).toContain(`${process.version} ${process.arch}`);
    expect(shipoteVersion()).toBe(`${version}\n`);
    expect(readFileSync(cache).equals(first)).toBe(true);
    // bin/shipote.mjs (tests, scripts) runs the CLI through the same loader.
    expect(shipoteVersion('shipote.mjs')).toBe(`${version}\n`);
    expect(readFileSync(cache).equals(first)).toBe(true);
    expect(readdirSync(cliDir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('is not handed to V8 when damaged: the run works and writes a good one', () => {
    shipoteVersion();
    const good = readFileSync(cache);
    const damaged = Buffer.from(good);
    for (let i = damaged.length >> 1; i < (damaged.length >> 1) + 64; i += 1) damaged[i]! ^= 0x5a;
    writeFileSync(cache, damaged);
    expect(shipoteVersion()).toBe(`${version}\n`);
    const healed = readFileSync(cache);
    expect(healed.equals(damaged)).toBe(false);
    // The new one is used as it is.
    shipoteVersion();
    expect(readFileSync(cache).equals(healed)).toBe(true);
  });

  it('is made again for a changed bundle and for another Node', () => {
    shipoteVersion();
    const before = header();
    writeFileSync(bundle, `${readFileSync(bundle, 'utf8')}// changed\n`);
    expect(shipoteVersion()).toBe(`${version}\n`);
    expect(header()).not.toBe(before);
    expect(header()).toContain(` ${statSync(bundle).size} `);
    const other = Buffer.from(
      readFileSync(cache).toString('latin1').replace(process.version, 'v0.0.0'),
      'latin1',
    );
    writeFileSync(cache, other);
    expect(shipoteVersion()).toBe(`${version}\n`);
    expect(header()).toContain(process.version);
  });
});

/**
 * Each bundle runs as the body of a function (CommonJS's wrapper, or bin/shipote.cjs's
 * own), and its first statement must be the `'use strict'` directive: the modules it was
 * made from were ES modules, strict throughout. A `with` statement is a syntax error in
 * strict code only, so compiling one after the bundle's code tells which mode it runs in.
 */
const daemonBuilt = join(repoRoot, 'dist', 'adapters', 'daemon', 'daemon.bundle.cjs');
maybe('the bundles', () => {
  it.each([
    ['the CLI', built],
    ['the daemon', daemonBuilt],
  ])('%s runs in strict mode', (_, path) => {
    const source = readFileSync(path, 'utf8');
    const compile = (body: string) => new vm.Script(`(function () {${body}\nwith ({}) {}\n})`);
    expect(() => compile(source)).toThrow(/strict mode/i);
    expect(() => compile('')).not.toThrow(); // the probe itself: sloppy code compiles
  });
});
