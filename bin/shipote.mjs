#!/usr/bin/env node
// The `shipote` command: runs the compiled CLI (`npm run build` produces dist/).
// `shipote daemon` goes straight to the daemon entry, without loading the CLI.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const isDaemon = process.argv[2] === 'daemon';
const entry = isDaemon
  ? join(root, 'dist', 'adapters', 'daemon', 'entry.js')
  : join(root, 'dist', 'adapters', 'cli', 'main.js');
if (!existsSync(entry)) {
  process.stderr.write(`shipote: ${entry} is missing; run \`npm run build\` in ${root} first\n`);
  process.exit(69);
}
const module = await import(pathToFileURL(entry).href);
if (isDaemon) await module.daemonMain(process.argv.slice(3));
else await module.main();
