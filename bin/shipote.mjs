#!/usr/bin/env node
// `shipote daemon` goes straight to the daemon entry, without loading the CLI, and prefers
// the one-file bundle (bin/bundle-daemon.mjs) when it is not older than the compiled entry.
// Every other command is the CLI: bin/shipote.cjs (the installed command) runs it; this file
// hands it there, for `node bin/shipote.mjs …` (tests, scripts).
import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const isDaemon = process.argv[2] === 'daemon';
if (!isDaemon) createRequire(import.meta.url)('./shipote.cjs');
// V8's lite mode (no optimizing compilers) keeps ~4 MiB less resident (bench/idle.ts), but
// it slows what the daemon does in JavaScript (spec validation, the engine's steps), which
// the event-loop bound cares about more: opt in with SHIPOTE_DAEMON_LITE=1. Set before any
// of the daemon's code is compiled. `node:v8` is imported only then: loading it keeps about
// 1.7 MiB resident (bench/idle.ts).
if (isDaemon && process.env.SHIPOTE_DAEMON_LITE === '1') {
  const { setFlagsFromString } = await import('node:v8');
  setFlagsFromString('--lite-mode');
}
if (isDaemon) {
  const entry = join(root, 'dist', 'adapters', 'daemon', 'entry.js');
  if (!existsSync(entry)) {
    process.stderr.write(`shipote: ${entry} is missing; run \`npm run build\` in ${root} first\n`);
    process.exit(69);
  }
  /** The entry's bundle, if built since the last compile (tsc rewrites every entry). */
  const freshBundle = () => {
    const bundle = join(dirname(entry), 'daemon.bundle.mjs');
    try {
      return statSync(bundle).mtimeMs >= statSync(entry).mtimeMs ? bundle : null;
    } catch {
      return null;
    }
  };
  const module = await import(pathToFileURL(freshBundle() || entry).href);
  await module.daemonMain(process.argv.slice(3));
}
