/**
 * Random bytes from /dev/urandom, without `node:crypto`: loading it (and WebCrypto, which
 * the `ulid` package touches) kept about 3 MiB more resident in the daemon for as long as
 * it lives (bench/idle.ts). Read 4 KiB at a time; every byte is handed out once.
 */

import { closeSync, openSync, readSync } from 'node:fs';

const poolBytes = 4096;
let pool: Buffer = Buffer.alloc(0);
let usedBytes = 0;

function readUrandom(bytes: number): Buffer {
  const out = Buffer.alloc(bytes);
  const fd = openSync('/dev/urandom', 'r');
  try {
    let got = 0;
    while (got < bytes) got += readSync(fd, out, got, bytes - got, null);
  } finally {
    closeSync(fd);
  }
  return out;
}

export function randomBytes(bytes: number): Buffer {
  if (bytes > poolBytes) return readUrandom(bytes);
  if (usedBytes + bytes > pool.length) {
    pool = readUrandom(poolBytes);
    usedBytes = 0;
  }
  const out = Buffer.from(pool.subarray(usedBytes, usedBytes + bytes));
  usedBytes += bytes;
  return out;
}
