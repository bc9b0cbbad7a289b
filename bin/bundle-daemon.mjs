#!/usr/bin/env node
// Bundles the compiled daemon (dist/adapters/daemon/entry.js and everything it imports)
// into one CommonJS file, dist/adapters/daemon/daemon.bundle.cjs, which bin/shipote.cjs
// requires for `shipote daemon` when it is at least as new as entry.js. One module instead
// of ~150 saves the ESM loader's per-module records and the young generation it grows while
// loading them (about 9 MiB resident for as long as the daemon lives), and CommonJS saves
// the ESM loader itself (about 1.7 MiB more; bench/idle.ts). Run by `npm run build` after
// tsc; needs esbuild (a devDependency): without it the daemon runs from the compiled
// modules. The bundle sits beside entry.js so the native addon is found by the same
// relative path (`import.meta.url` becomes this file's URL); better-sqlite3 stays outside
// (adapters/queue loads it when a queue store is opened).
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const daemonDir = join(root, 'dist', 'adapters', 'daemon');
let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  process.stdout.write('esbuild not installed: the daemon runs from the compiled modules\n');
  process.exit(0);
}
await esbuild.build({
  entryPoints: [join(daemonDir, 'entry.js')],
  outfile: join(daemonDir, 'daemon.bundle.cjs'),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  logLevel: 'warning',
  external: ['better-sqlite3'],
  // V8 keeps a script's source for as long as it lives (lazy compilation): without the
  // indentation and comments about 0.4 MiB less. Names stay: a stack trace still names each
  // function (its line and column are the bundle's).
  minifyWhitespace: true,
  define: { 'import.meta.url': 'shipoteModuleUrl' },
  // Strict mode first (the modules were ES modules, strict throughout), then the URL that
  // stands for `import.meta.url`.
  banner: {
    js: [
      "'use strict';",
      "const shipoteModuleUrl = require('node:url').pathToFileURL(__filename).href;",
    ].join('\n'),
  },
});
process.stdout.write(`bundled ${join(daemonDir, 'daemon.bundle.cjs')}\n`);

const cliDir = join(root, 'dist', 'adapters', 'cli');
// The CLI too: a command that answers in a few milliseconds should not spend most of its
// start-up loading ~100 modules (`shipote apply` of 200 services: bench/apply.ts).
for (const [dir, entry, out] of [[cliDir, 'main.js', 'cli.bundle.mjs']]) {
  await esbuild.build({
    entryPoints: [join(dir, entry)],
    outfile: join(dir, out),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'warning',
    external: ['better-sqlite3'],
    banner: {
      js: [
        "import { createRequire as shipoteRequire } from 'node:module';",
        'const require = shipoteRequire(import.meta.url);',
      ].join('\n'),
    },
  });
  process.stdout.write(`bundled ${join(dir, out)}\n`);
}
