/**
 * A child's stdin made from bytes (a worker's task): a pipe already holding them when
 * they fit its buffer, else an unlinked temp file; either way the child reads the bytes
 * then EOF, and the daemon never blocks writing them.
 */

import { closeSync, constants as fsc, openSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { PortResult } from '../../core/ports.js';
import { isSysError, type NativeAddon } from './addon.js';
import { sysPortError } from './errors.js';

/** What a fresh Linux pipe holds without a reader (16 pages). */
export const PIPE_BYTES_DEFAULT = 65_536;

let tempSeq = 0;

/** An fd to hand the child as fd 0 (libuv opens CLOEXEC); the caller closes it after spawn. */
export function stdinFd(
  native: NativeAddon,
  bytes: Uint8Array,
  runtimeDir: string,
): PortResult<number> {
  if (bytes.byteLength <= PIPE_BYTES_DEFAULT) {
    const p = native.pipe(0);
    if (isSysError(p)) {
      const ctx = { port: 'Kernel' as const, method: 'spawn', what: 'stdin pipe' };
      return { ok: false, error: sysPortError(ctx, p) };
    }
    const [r, w] = p;
    try {
      let off = 0;
      while (off < bytes.byteLength) off += writeSync(w, bytes, off);
    } finally {
      native.close(w);
    }
    return { ok: true, value: r };
  }
  tempSeq += 1;
  const path = join(runtimeDir, `stdin-${process.pid}-${tempSeq}.tmp`);
  try {
    const flags = fsc.O_RDWR | fsc.O_CREAT | fsc.O_EXCL;
    const fd = openSync(path, flags, 0o600);
    try {
      let off = 0;
      while (off < bytes.byteLength) off += writeSync(fd, bytes, off, bytes.byteLength - off, off);
    } catch (cause) {
      closeSync(fd);
      throw cause;
    } finally {
      unlinkSync(path);
    }
    const rd = openSync(`/proc/self/fd/${fd}`, fsc.O_RDONLY);
    closeSync(fd);
    return { ok: true, value: rd };
  } catch (cause) {
    const e = cause as { code?: string; errno?: number; message?: string };
    return {
      ok: false,
      error: {
        _tag: 'PortError',
        port: 'Kernel',
        method: 'spawn',
        reason: e.code === 'ENOSPC' ? 'LimitExceeded' : 'Unknown',
        message: `stdin for the task: ${e.message ?? String(cause)}`,
        path,
      },
    };
  }
}
