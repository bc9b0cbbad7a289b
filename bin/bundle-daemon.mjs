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
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
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
// What both bundles share: CommonJS for Node 20, better-sqlite3 outside, and
// `import.meta.url` standing for the bundle's own URL (set by the banner's second line).
const urlLine = "const shipoteModuleUrl = require('node:url').pathToFileURL(__filename).href;";
const common = {
  // Strict mode first (the modules were ES modules, strict throughout): esbuild's own
  // directive would come after the URL line, where it is a plain string, not a directive.
  banner: { js: ["'use strict';", urlLine].join('\n') },
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  logLevel: 'warning',
  external: ['better-sqlite3'],
  define: { 'import.meta.url': 'shipoteModuleUrl' },
};
await esbuild.build({
  ...common,
  entryPoints: [join(daemonDir, 'entry.js')],
  outfile: join(daemonDir, 'daemon.bundle.cjs'),
  // V8 keeps a script's source for as long as it lives (lazy compilation): without the
  // indentation and comments about 0.4 MiB less. Names stay: a stack trace still names each
  // function (its line and column are the bundle's).
  minifyWhitespace: true,
});
rmSync(join(daemonDir, 'daemon.bundle.mjs'), { force: true }); // an earlier build's ESM bundle
process.stdout.write(`bundled ${join(daemonDir, 'daemon.bundle.cjs')}\n`);

// The CLI too: a command that answers in a few milliseconds should not spend most of its
// start-up loading ~100 modules (`shipote apply` of 200 services: bench/apply.ts). It is
// CommonJS so that bin/shipote.cjs can compile it with V8's code cache (Node 20 has no
// compile cache for ES modules), and it leaves the daemon out (`shipote daemon` never runs
// the CLI; `tsx adapters/cli/main.ts daemon` imports the compiled entry beside it).
const cliDir = join(root, 'dist', 'adapters', 'cli');
const cliBundle = join(cliDir, 'cli.bundle.cjs');
// The daemon's entry stays outside, an ES module: the bundle runs in a vm.Script, where a
// dynamic import() is not reliable (Node 20 forgets the script's import callback for
// functions compiled from the code cache), so bin/shipote.cjs hands in `shipoteImport`, an
// import() of its own (a parameter of the function the bundle is wrapped in).
const daemonOutside = {
  name: 'daemon-outside',
  setup(build) {
    build.onResolve({ filter: /\/daemon\/entry\.js$/ }, () => ({
      path: 'daemon-entry',
      namespace: 'shipote',
    }));
    build.onLoad({ filter: /.*/, namespace: 'shipote' }, () => ({
      loader: 'js',
      contents: [
        "const { join } = require('node:path');",
        "const { pathToFileURL } = require('node:url');",
        "const entry = pathToFileURL(join(__dirname, '..', 'daemon', 'entry.js')).href;",
        "const load = typeof shipoteImport === 'function' ? shipoteImport : (u) => import(u);",
        'module.exports = { daemonMain: async (argv) => (await load(entry)).daemonMain(argv) };',
      ].join('\n'),
    }));
  },
};
const cli = await esbuild.build({
  ...common,
  entryPoints: [join(cliDir, 'main.js')],
  outfile: cliBundle,
  write: false,
  plugins: [daemonOutside],
});
const code = cli.outputFiles[0].contents;
// The first line names the content: bin/shipote.cjs keys its code cache by it.
const digest = createHash('sha256').update(code).digest('hex');
writeFileSync(cliBundle, Buffer.concat([Buffer.from(`// shipote-cli ${digest}\n`), code]));
rmSync(`${cliBundle}.cache`, { force: true });
rmSync(join(cliDir, 'cli.bundle.mjs'), { force: true }); // an earlier build's ESM bundle
process.stdout.write(`bundled ${cliBundle}\n`);
// The code cache, made by one run (bin/shipote.cjs writes it when it is absent).
execFileSync(process.execPath, [join(root, 'bin', 'shipote.cjs'), '--version'], {
  stdio: 'ignore',
});
