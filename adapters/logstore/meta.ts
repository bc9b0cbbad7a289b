/**
 * Whose logs a key directory holds (`meta.json`: workspace id and label, the command's or
 * node's label), written when a command or pipeline starts; a command's with its first log
 * file (the capture's writer thread writes it, adapters/linux/logs.ts), so a command that
 * prints nothing leaves no directory. The log store is keyed by
 * command id, independent of the engine's records: with the meta, the logs of a command
 * the supervisor has forgotten (an earlier daemon, a dropped record) are still found by
 * workspace and label, and retention knows which workspace a directory belongs to.
 */

import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { keyDir } from './files.js';

export interface LogMeta {
  key: string;
  ws: string;
  wsLabel: string;
  /** The command label, or `<pipeline label>.<node label>`. */
  label: string;
  startedWallMs: number;
}

export function metaText(meta: LogMeta): string {
  return `${JSON.stringify(meta)}\n`;
}

/** Writes meta.json now, making the key's directory (a pipeline's nodes: see source.ts). */
export function writeMeta(root: string, meta: LogMeta): void {
  const dir = keyDir(root, meta.key);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(join(dir, 'meta.json'), metaText(meta), { mode: 0o600 });
  } catch {
    // Best effort: the logs are still read by key.
  }
}

function readMeta(path: string): LogMeta | null {
  try {
    const m = JSON.parse(readFileSync(path, 'utf8')) as LogMeta;
    return typeof m.key === 'string' && typeof m.ws === 'string' ? m : null;
  } catch {
    return null;
  }
}

export interface KeyDirEntry {
  key: string;
  dir: string;
  meta: LogMeta | null;
  /** The newest mtime of any file in the directory. */
  mtimeMs: number;
}

function newestMtimeMs(dir: string, names: string[]): number {
  let newest = 0;
  for (const name of names) {
    try {
      newest = Math.max(newest, statSync(join(dir, name)).mtimeMs);
    } catch {
      // gone meanwhile
    }
  }
  return Math.floor(newest);
}

/** Every key directory under `root` (a command, or a pipeline's node `<id>/<index>`). */
export function listKeyDirs(root: string, prefix = ''): KeyDirEntry[] {
  let entries: import('node:fs').Dirent[];
  const dir = prefix ? join(root, prefix) : root;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const out: KeyDirEntry[] = [];
  const files = entries.filter((e) => e.isFile()).map((e) => e.name);
  if (prefix && files.some((n) => /\.(log|idx)(\.\d+)?$/.test(n) || n === 'meta.json')) {
    const meta = files.includes('meta.json') ? readMeta(join(dir, 'meta.json')) : null;
    out.push({ key: prefix, dir, meta, mtimeMs: newestMtimeMs(dir, files) });
  }
  if (prefix.split('/').length >= 2) return out;
  for (const e of entries) {
    if (e.isDirectory()) out.push(...listKeyDirs(root, prefix ? `${prefix}/${e.name}` : e.name));
  }
  return out;
}
