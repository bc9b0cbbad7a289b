#!/usr/bin/env node
// Bundles the compiled daemon (dist/adapters/daemon/entry.js and everything it imports)
// into one ESM file, dist/adapters/daemon/daemon.bundle.mjs, which bin/shipote.mjs runs for
// `shipote daemon` when it is at least as new as entry.js. One module instead of ~100 saves
// the ESM loader's per-module work at start-up (it gets hot enough for TurboFan) and the
// module records: about 7 MB of resident memory for as long as the daemon lives
// (bench/idle.ts). Run after `npm run build`; needs esbuild (a devDependency). The bundle
// sits beside entry.js so the native addon is found by the same relative path.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const daemonDir = join(root, 'dist', 'adapters', 'daemon');
const { build } = await import('esbuild');
await build({
  entryPoints: [join(daemonDir, 'entry.js')],
  outfile: join(daemonDir, 'daemon.bundle.mjs'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  logLevel: 'warning',
});
process.stdout.write(`bundled ${join(daemonDir, 'daemon.bundle.mjs')}\n`);
