/**
 * The on-disk layout of the log store and its read side. The native writer
 * (native/src/logfile.cc) splices each captured stream into `<root>/<key>/<stream>.log`,
 * rotated to `<stream>.log.1` …, with an index `<stream>.idx[.N]` of 24-byte records
 * `(wallMs, offset, seq)`: `offset` counts every byte the stream ever received, so a file's
 * first record gives its first byte's offset and a reader's position survives rotation.
 * Nothing here writes.
 */

import { closeSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';

export type StreamName = 'stdout' | 'stderr';

export const recordBytes = 24;

export interface IndexRecord {
  wallMs: number;
  offset: number;
  seq: number;
}

/** One file of a stream: bytes [base, base + size) of the stream. */
export interface LogFile {
  path: string;
  indexPath: string;
  base: number;
  size: number;
  /** Index records in the file (the file may have grown since). */
  records: number;
}

/** `<root>/<key>`: keys are ids (`<pipeline id>/<node index>` for nodes); no `..`. */
export function keyDir(root: string, key: string): string {
  const parts = key.split('/').filter((p) => p !== '' && p !== '.' && p !== '..');
  return join(root, ...parts.map((p) => p.replace(/[^A-Za-z0-9_.-]/g, '_')));
}

function decode(buf: Buffer, at: number): IndexRecord {
  return {
    wallMs: Number(buf.readBigInt64LE(at)),
    offset: Number(buf.readBigUInt64LE(at + 8)),
    seq: Number(buf.readBigUInt64LE(at + 16)),
  };
}

/** Bytes read from log and index files (a check that tail reads stay near the end). */
export const readStats = { bytes: 0 };

function readAt(path: string, position: number, length: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(length);
    let got = 0;
    while (got < length) {
      const n = readSync(fd, buf, got, length - got, position + got);
      if (n === 0) break;
      got += n;
    }
    readStats.bytes += got;
    return got === length ? buf : buf.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return -1;
  }
}

/** The files of one stream, oldest first; [] when there are none. */
export function listFiles(dir: string, stream: StreamName): LogFile[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const re = new RegExp(`^${stream}\\.log(?:\\.(\\d+))?$`);
  const files: LogFile[] = [];
  for (const name of names) {
    const m = re.exec(name);
    if (!m) continue;
    const suffix = m[1] ? `.${m[1]}` : '';
    const path = join(dir, name);
    const indexPath = join(dir, `${stream}.idx${suffix}`);
    const size = sizeOf(path);
    const idxSize = sizeOf(indexPath);
    if (size < 0) continue;
    const records = idxSize > 0 ? Math.floor(idxSize / recordBytes) : 0;
    const first = records > 0 ? readAt(indexPath, 0, recordBytes) : null;
    const base = first && first.length === recordBytes ? decode(first, 0).offset : 0;
    files.push({ path, indexPath, base, size, records });
  }
  return files.sort((a, b) => a.base - b.base || b.path.length - a.path.length);
}

/** Reads the record at `i` of a file's index. */
export function recordAt(file: LogFile, i: number): IndexRecord {
  const buf = readAt(file.indexPath, i * recordBytes, recordBytes);
  if (buf.length < recordBytes) return { wallMs: 0, offset: file.base, seq: 0 };
  return decode(buf, 0);
}

/** Records [from, to) of a file's index, in one read. */
export function recordsIn(file: LogFile, from: number, to: number): IndexRecord[] {
  if (to <= from) return [];
  const buf = readAt(file.indexPath, from * recordBytes, (to - from) * recordBytes);
  const out: IndexRecord[] = [];
  for (let at = 0; at + recordBytes <= buf.length; at += recordBytes) out.push(decode(buf, at));
  return out;
}

/** The last record index whose offset ≤ `offset` (binary search; 0 when none). */
export function recordFor(file: LogFile, offset: number): number {
  let lo = 0;
  let hi = file.records - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (recordAt(file, mid).offset <= offset) lo = mid;
    else hi = mid - 1;
  }
  return Math.max(0, lo);
}

/** The first record index with wallMs ≥ `wallMs` (records.length when none). */
export function firstRecordAtOrAfter(file: LogFile, wallMs: number): number {
  let lo = 0;
  let hi = file.records;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (recordAt(file, mid).wallMs < wallMs) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Bytes [from, from + length) of a file, relative to the stream (clipped to the file). */
export function readFileRange(file: LogFile, from: number, length: number): Buffer {
  const start = Math.max(from, file.base);
  const end = Math.min(from + length, file.base + file.size);
  if (end <= start) return Buffer.alloc(0);
  try {
    return readAt(file.path, start - file.base, end - start);
  } catch {
    return Buffer.alloc(0); // rotated away under us: the caller lists again
  }
}

export function streamEnd(files: LogFile[]): number {
  const last = files[files.length - 1];
  return last ? last.base + last.size : 0;
}

const scanBlockBytes = 64 * 1024;

/**
 * The offset where the last `lines` lines of the stream start, reading backwards from the
 * end block by block (never the whole stream). A final line without `\n` counts.
 */
export function startOfLastLines(files: LogFile[], lines: number): number {
  const begin = files[0]?.base ?? 0;
  let pos = streamEnd(files);
  if (lines <= 0) return pos;
  let need = lines;
  const last = pos - 1; // a final `\n` ends the last line, it does not start one
  for (let f = files.length - 1; f >= 0; f--) {
    const file = files[f]!;
    while (pos > file.base) {
      const from = Math.max(file.base, pos - scanBlockBytes);
      const block = readFileRange(file, from, pos - from);
      for (let i = block.length - 1; i >= 0; i--) {
        if (block[i] !== 0x0a) continue;
        if (from + i === last) continue;
        need--;
        if (need === 0) return from + i + 1;
      }
      pos = from;
      if (block.length === 0) break;
    }
  }
  return begin;
}

/** The first offset whose chunk was stamped at or after `wallMs` (the end when none). */
export function offsetAtOrAfter(files: LogFile[], wallMs: number): number {
  for (const file of files) {
    const i = firstRecordAtOrAfter(file, wallMs);
    if (i < file.records) return Math.max(recordAt(file, i).offset, file.base);
  }
  return streamEnd(files);
}
