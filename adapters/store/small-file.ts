/**
 * Small side files next to the snapshot (metric counters): replaced atomically through a
 * temp file created O_EXCL|O_NOFOLLOW with a random name. No fsync: they must survive the
 * daemon's death (the page cache does), not a power cut.
 */

import { closeSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { createExclusiveFlags, tempPathFor } from './file-store.js';

/** true when written; false (and nothing left behind) when it could not be. */
export function writeSmallFile(path: string, text: string): boolean {
  const temp = tempPathFor(path);
  let fd: number | null = null;
  try {
    fd = openSync(temp, createExclusiveFlags, 0o600);
    writeSync(fd, text);
    closeSync(fd);
    fd = null;
    renameSync(temp, path);
    return true;
  } catch {
    if (fd !== null) closeSync(fd);
    try {
      unlinkSync(temp);
    } catch {
      // Never created.
    }
    return false;
  }
}
