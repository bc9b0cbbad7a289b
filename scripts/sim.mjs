#!/usr/bin/env node
// `npm run sim`: the simulator (sim/main.ts) run from one esbuild bundle instead of through
// tsx. tsx compiles each of ~150 modules on load, in the main thread and again in every
// worker thread, and runs them as separate ES modules; one bundle per thread loads at once
// and runs a few per cent faster (one scope lets esbuild and V8 inline across modules).
//
// The bundle is built on every run from the sources (about 0.2 s, esbuild is a
// devDependency), so it is never stale and a clean clone needs nothing more than `npm ci`.
// It goes to node_modules/.cache/shipote-sim/<content hash>/ (main.js, campaign-worker.js
// beside it for sim/parallel.ts, and their source maps): two runs at once share or race
// for the same directory harmlessly, as the content decides the name. The simulator then
// runs in a child node with source maps on, so a stack in a report names the .ts source.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cache = join(root, 'node_modules', '.cache', 'shipote-sim');
/** Directories of earlier sources left alone for an hour: a run may still be starting one. */
const STALE_MS = 3_600_000;

const result = await build({
  entryPoints: {
    main: join(root, 'sim', 'main.ts'),
    'campaign-worker': join(root, 'sim', 'campaign-worker.ts'),
  },
  outdir: join(cache, 'out'),
  write: false,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: 'linked',
  logLevel: 'warning',
  // CommonJS dependencies bundled into an ES module call require() for Node's built-ins.
  banner: {
    js: [
      "import { createRequire } from 'node:module';",
      'const require = createRequire(import.meta.url);',
    ].join('\n'),
  },
});

const hash = createHash('sha256');
for (const file of result.outputFiles) hash.update(basename(file.path)).update(file.contents);
const id = hash.digest('hex').slice(0, 16);
const dir = join(cache, id);
try {
  statSync(join(dir, 'main.js'));
} catch {
  const staging = `${dir}.${process.pid}.tmp`;
  mkdirSync(staging, { recursive: true });
  writeFileSync(join(staging, 'package.json'), '{ "type": "module" }\n');
  for (const file of result.outputFiles)
    writeFileSync(join(staging, basename(file.path)), file.contents);
  try {
    renameSync(staging, dir);
  } catch {
    rmSync(staging, { recursive: true, force: true }); // another run put the same bundle there
  }
}
for (const name of readdirSync(cache)) {
  const path = join(cache, name);
  if (name !== id && Date.now() - statSync(path).mtimeMs > STALE_MS)
    rmSync(path, { recursive: true, force: true });
}

const run = spawnSync(
  process.execPath,
  ['--enable-source-maps', join(dir, 'main.js'), ...process.argv.slice(2)],
  { stdio: 'inherit' },
);
if (run.error) throw run.error;
if (run.signal) process.kill(process.pid, run.signal);
process.exitCode = run.status ?? 1;
