/** Releasing what may already be gone: close(2) and unlink(2) that treat "gone" as done. */

import { closeSync, unlinkSync } from 'node:fs';

export function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Already closed or invalid: nothing left to release.
  }
}

export function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Never created, already renamed, or removed.
  }
}
