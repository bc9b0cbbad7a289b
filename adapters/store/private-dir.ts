/**
 * Directories the daemon keeps its socket, snapshot, event log and temp files in
 * (docs/CONTRACT.md §5, §6). Each must belong to the daemon's uid and be writable by
 * nobody else: another user who could write there could swap the socket or plant links.
 * A missing directory is created 0700 under umask 077, so no other uid ever sees it
 * open. An existing socket directory owned by us that others can only read is tightened
 * to 0700 (a state directory is left readable); anything else (a link, another owner,
 * writable by group or others) is refused with a message that says how to fix it.
 */

import { chmodSync, lstatSync, mkdirSync } from 'node:fs';

export class UnsafeDirError extends Error {
  override readonly name = 'UnsafeDirError';
}

export function ownUid(): number {
  return process.getuid?.() ?? 0;
}

/** Runs `fn` with umask 077 (nothing it creates is open to group or others). */
export function withPrivateUmask<T>(fn: () => T): T {
  const before = process.umask(0o077);
  try {
    return fn();
  } finally {
    process.umask(before);
  }
}

/**
 * Creates `dir` (0700) or checks it; throws UnsafeDirError naming the problem and the fix.
 * `what` says what the directory is for, `override` which setting picks another one.
 */
export function ensurePrivateDir(
  dir: string,
  what: string,
  override: string,
  uid: number = ownUid(),
  options: { tighten?: boolean } = {},
): void {
  withPrivateUmask(() => mkdirSync(dir, { recursive: true, mode: 0o700 }));
  const st = lstatSync(dir);
  const elsewhere = `or set ${override} to a path in a directory only you can write`;
  if (st.isSymbolicLink() || !st.isDirectory()) {
    const kind = st.isSymbolicLink() ? 'a symbolic link' : 'not a directory';
    throw new UnsafeDirError(
      `${what} ${dir} is ${kind}; expected a directory owned by uid ${uid} with mode 0700: ` +
        `remove it (rm ${dir}) ${elsewhere}`,
    );
  }
  if (st.uid !== uid) {
    throw new UnsafeDirError(
      `${what} ${dir} is owned by uid ${st.uid}; expected uid ${uid} with mode 0700: ` +
        `remove it as its owner (rm -r ${dir}) ${elsewhere}`,
    );
  }
  const mode = st.mode & 0o777;
  if ((mode & 0o022) !== 0) {
    throw new UnsafeDirError(
      `${what} ${dir} has mode 0${mode.toString(8)} (writable by others); expected 0700: ` +
        `check nothing in it is foreign, then chmod 700 ${dir}, ${elsewhere}`,
    );
  }
  // A readable one is tightened only when asked (the socket's); a state directory such as
  // a 0755 StateDirectory or $HOME is left as its owner set it: nobody else can write there.
  if ((mode & 0o077) !== 0 && options.tighten !== false) chmodSync(dir, 0o700);
}

/** A directory for the snapshot and its neighbours: ours, writable by nobody else. */
export function ensureStateDir(dir: string, uid: number = ownUid()): void {
  ensurePrivateDir(dir, 'state directory', 'SHIPOTE_STATE (or --state)', uid, { tighten: false });
}
