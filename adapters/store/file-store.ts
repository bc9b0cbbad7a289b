/**
 * The Store port on a plain file. Writes are atomic and durable: a temp file in the same
 * directory is written and fsynced, renamed over the snapshot, then the directory is
 * fsynced so the rename itself survives a power cut. A crash at any point leaves either
 * the old or the new file whole; a stray temp file is ignored by `read`.
 */

import {
  closeSync,
  constants,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { PortError, PortResult, Store, StoreRead } from '../../core/ports.js';
import { toPortError } from './errors.js';
import { createGroupCommit, defaultGroupCommitIo, type GroupCommitIo } from './group-commit.js';
import { closeQuietly, unlinkQuietly } from './quiet-fs.js';
import { randomBytes } from './random.js';
import { isoUtc } from './utc.js';

export interface FileStore extends Store {
  readonly path: string;
  /**
   * Resolves (null) once every write that returned ok is durable, or with the failure.
   * Immediate unless `groupCommit` (adapters/store/group-commit.ts).
   */
  durable(): Promise<PortError | null>;
  /** Makes every write that returned ok durable now, synchronously (exit paths). */
  settleSync(): PortError | null;
}

export interface FileStoreOptions {
  path: string;
  /** Wall clock for set-aside names; injectable for tests. */
  wallMs?: () => number;
  /**
   * `write` returns once the text is in a temp file; fsync and rename follow off the event
   * loop, and `durable()` says when. Without it every write is durable when it returns.
   */
  groupCommit?: boolean | GroupCommitIo;
}

export function createFileStore(options: FileStoreOptions): FileStore {
  const { path } = options;
  const wallMs = options.wallMs ?? (() => Date.now());
  const io =
    options.groupCommit === true
      ? defaultGroupCommitIo((text) => writeTemp(path, text))
      : options.groupCommit || null;
  const group = io ? createGroupCommit(path, io) : null;
  return {
    path,
    read: () => readSnapshot(path),
    write: (text: string): PortResult<true> =>
      group ? group.stage(text) : writeAtomic(path, text),
    durable: () => (group ? group.durable() : Promise.resolve(null)),
    settleSync: () => (group ? group.settleSync() : null),
    setAside(reason: string): PortResult<{ path: string }> {
      const target = `${path}.${asideTag(reason)}-${stamp(wallMs())}`;
      try {
        renameSync(path, target);
        fsyncDir(dirname(path));
        return { ok: true, value: { path: target } };
      } catch (cause) {
        return { ok: false, error: toPortError('Store', 'setAside', cause) };
      }
    },
  };
}

function readSnapshot(path: string): StoreRead {
  try {
    return { kind: 'text', text: readFileSync(path, 'utf8') };
  } catch (cause) {
    if ((cause as { code?: string }).code === 'ENOENT') return { kind: 'empty' };
    return { kind: 'error', error: toPortError('Store', 'read', cause) };
  }
}

/**
 * Temp name in the same directory (rename is only atomic within one file system), with a
 * random suffix nobody can guess to plant a link at in advance.
 */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${randomBytes(16).toString('hex')}`);
}

/** Create only: never an existing file, never through a symbolic link. */
export const createExclusiveFlags =
  constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/** `text` in a new temp file beside `path`, not yet fsynced: its open fd (throws). */
function writeTemp(path: string, text: string): { fd: number; temp: string } {
  const temp = tempPathFor(path);
  let fd: number | null = null;
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    fd = openSync(temp, createExclusiveFlags, 0o600);
    const bytes = Buffer.from(text, 'utf8');
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    return { fd, temp };
  } catch (cause) {
    if (fd !== null) closeQuietly(fd);
    // Only a temp file we created is ours to remove (EEXIST: someone else's path).
    if ((cause as { code?: string }).code !== 'EEXIST') unlinkQuietly(temp);
    throw cause;
  }
}

function writeAtomic(path: string, text: string): PortResult<true> {
  let staged: { fd: number; temp: string } | null = null;
  let open = false;
  try {
    staged = writeTemp(path, text);
    open = true;
    fsyncSync(staged.fd);
    open = false;
    closeSync(staged.fd);
    renameSync(staged.temp, path);
    staged = null;
    fsyncDir(dirname(path));
    return { ok: true, value: true };
  } catch (cause) {
    if (staged !== null) {
      if (open) closeQuietly(staged.fd);
      unlinkQuietly(staged.temp);
    }
    return { ok: false, error: toPortError('Store', 'write', cause) };
  }
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** `corrupt` and `newer` keep their names; anything else is reduced to a safe tag. */
function asideTag(reason: string): string {
  const lower = reason.toLowerCase();
  if (lower.includes('newer')) return 'newer';
  if (lower.includes('corrupt')) return 'corrupt';
  const tag = lower.replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
  return tag || 'aside';
}

/** `20261123T110418.123Z`-style, sortable and free of `:` so it is shell-friendly. */
function stamp(wallMs: number): string {
  return isoUtc(wallMs).replace(/[-:]/g, '');
}
