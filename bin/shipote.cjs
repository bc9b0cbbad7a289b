#!/usr/bin/env node
// The `shipote` command: runs the compiled CLI (`npm run build` produces dist/).
// `shipote daemon` goes straight to the daemon entry, without loading the CLI, and prefers
// the one-file bundle (bin/bundle-daemon.mjs) when it is not older than the compiled entry.
// CommonJS on purpose: an ES module as the main script starts Node's ESM loader (and the
// fs/promises, readline and stream modules it needs), about 1.7 MiB resident for as long as
// the daemon lives (bench/idle.ts); the daemon bundle is CommonJS for the same reason. The
// CLI is ESM and is imported. bin/shipote.mjs is the same command for older paths.
'use strict';
const { existsSync, statSync } = require('node:fs');
const { dirname, join } = require('node:path');
const { pathToFileURL } = require('node:url');

const root = join(__dirname, '..');
const isDaemon = process.argv[2] === 'daemon';
const entry = isDaemon
  ? join(root, 'dist', 'adapters', 'daemon', 'entry.js')
  : join(root, 'dist', 'adapters', 'cli', 'main.js');
if (!existsSync(entry)) {
  process.stderr.write(`shipote: ${entry} is missing; run \`npm run build\` in ${root} first\n`);
  process.exit(69);
}

/** The entry's bundle, if built since the last compile (tsc rewrites every entry). */
function freshBundle() {
  const bundle = join(dirname(entry), isDaemon ? 'daemon.bundle.cjs' : 'cli.bundle.mjs');
  try {
    return statSync(bundle).mtimeMs >= statSync(entry).mtimeMs ? bundle : null;
  } catch {
    return null;
  }
}

const bundle = freshBundle();
if (isDaemon && bundle) {
  void require(bundle).daemonMain(process.argv.slice(3));
} else {
  void import(pathToFileURL(bundle || entry).href).then((module) =>
    isDaemon ? module.daemonMain(process.argv.slice(3)) : module.main(),
  );
}
