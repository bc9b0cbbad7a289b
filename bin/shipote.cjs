#!/usr/bin/env node
// The `shipote` command as installed (package.json "bin"). CommonJS on purpose: an ES module
// as the main script starts Node's ES module loader (and the fs/promises, readline and
// stream modules it needs): about 1.7 MiB resident for as long as the daemon lives
// (bench/idle.ts), and ~4 ms of CPU per CLI run. `shipote daemon` requires the CommonJS
// daemon bundle (bin/bundle-daemon.mjs) when it is at least as new as the compiled entry;
// the CLI runs from its bundle with V8's code cache (loadCliBundle), or from the compiled
// modules without one. bin/shipote.mjs is the same command for paths that name it.
'use strict';
const {
  closeSync,
  existsSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} = require('node:fs');
const { dirname, join } = require('node:path');
const { pathToFileURL } = require('node:url');

const root = join(__dirname, '..');

// A failure of the entry itself is an unhandled rejection: Node prints it and exits 1.
if (process.argv[2] === 'daemon') void runDaemon();
else void runCli();

/** The entry's bundle `name` beside it, if built since the last compile (tsc rewrites it). */
function freshBundle(entry, name) {
  const bundle = join(dirname(entry), name);
  try {
    return statSync(bundle).mtimeMs >= statSync(entry).mtimeMs ? bundle : null;
  } catch {
    return null; // No bundle (esbuild missing at build time): the compiled modules.
  }
}

function mustExist(entry) {
  if (existsSync(entry)) return;
  process.stderr.write(`shipote: ${entry} is missing; run \`npm run build\` in ${root} first\n`);
  process.exit(69);
}

async function runDaemon() {
  const entry = join(root, 'dist', 'adapters', 'daemon', 'entry.js');
  mustExist(entry);
  const bundle = freshBundle(entry, 'daemon.bundle.cjs');
  const module = bundle ? require(bundle) : await import(pathToFileURL(entry).href);
  await module.daemonMain(process.argv.slice(3));
}

async function runCli() {
  const entry = join(root, 'dist', 'adapters', 'cli', 'main.js');
  mustExist(entry);
  const bundle = freshBundle(entry, 'cli.bundle.cjs');
  const module = bundle ? loadCliBundle(bundle) : await import(pathToFileURL(entry).href);
  await module.main();
}

/**
 * The CLI bundle (CommonJS, bin/bundle-daemon.mjs) compiled with V8's code cache from
 * `<bundle>.cache`: the functions a run compiled before are not parsed and compiled again.
 * The cache's first line is its key and a checksum of the rest. The key is the bundle's
 * content digest (the bundle's first line), its size and mtime, and Node's version and arch:
 * a cache of another key is not used. The checksum is ours because V8 does not verify one
 * (a damaged cache crashes it); V8 checks its own version and flags and rejects a cache that
 * does not fit. Without a usable cache the run compiles as usual and, once it is over,
 * writes one (write and rename, so concurrent runs never read half a file) if it may write
 * beside the bundle.
 */
function loadCliBundle(bundle) {
  const vm = require('node:vm');
  const { createRequire } = require('node:module');
  const source = readFileSync(bundle, 'utf8');
  const st = statSync(bundle);
  const head = source.slice(0, source.indexOf('\n'));
  const key = `${head} ${st.size} ${st.mtimeMs} ${process.version} ${process.arch}`;
  const cachePath = `${bundle}.cache`;
  const cachedData = readCache(cachePath, key);
  // CommonJS's wrapper, and `shipoteImport` for the daemon's entry (bin/bundle-daemon.mjs).
  const params = 'exports, require, module, __filename, __dirname, shipoteImport';
  const script = new vm.Script(`(function (${params}) {${source}\n})`, {
    filename: bundle,
    cachedData,
  });
  if (cachedData === undefined || script.cachedDataRejected) {
    process.once('exit', () => writeCache(cachePath, key, script));
  }
  const module = { exports: {} };
  const run = script.runInThisContext();
  const shipoteImport = (url) => import(url);
  run(module.exports, createRequire(bundle), module, bundle, dirname(bundle), shipoteImport);
  return module.exports;
}

/** FNV-1a over the 32-bit words, then the bytes left over. */
function checksum(data) {
  const bytes = data.byteOffset % 4 === 0 ? data : Buffer.from(data);
  const words = new Int32Array(bytes.buffer, bytes.byteOffset, bytes.length >>> 2);
  let h = 0x811c9dc5 | 0;
  for (let i = 0; i < words.length; i += 1) h = Math.imul(h ^ words[i], 0x01000193);
  for (let i = words.length * 4; i < bytes.length; i += 1) h = Math.imul(h ^ bytes[i], 0x01000193);
  return (h >>> 0).toString(16);
}

/** The cache's code, if its key is `key` and its checksum holds. */
function readCache(cachePath, key) {
  let raw;
  try {
    raw = readFileSync(cachePath);
  } catch {
    return undefined; // No cache yet.
  }
  const eol = raw.indexOf(10);
  if (eol < 0 || raw.toString('latin1', 0, eol) !== `${key} ${checksum(raw.subarray(eol + 1))}`) {
    return undefined;
  }
  return raw.subarray(eol + 1);
}

/** The cache of what this run compiled, unless the bundle's directory is not ours to write. */
function writeCache(cachePath, key, script) {
  const tmp = `${cachePath}.${process.pid}.tmp`;
  let fd;
  try {
    fd = openSync(tmp, 'wx', 0o644);
  } catch {
    return;
  }
  try {
    const data = script.createCachedData();
    writeSync(fd, Buffer.concat([Buffer.from(`${key} ${checksum(data)}\n`, 'latin1'), data]));
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, cachePath);
  } catch {
    if (fd !== undefined) closeSync(fd);
    rmSync(tmp, { force: true });
  }
}
