/**
 * Reading the log store: a cursor over one or more streams that hands out the next output
 * chunk (bounded) and remembers where it is, so a follower that was paused by backpressure
 * resumes from its offset. One stream without `timestamps` or labels is copied as it is
 * (binary stays byte-identical); otherwise output goes line by line, merged by the time
 * stamped on each line's first byte (then by arrival order), with a label and/or an RFC 3339
 * time prefixed to each line (`docker compose logs`). `lines`, `since` and `until` only move
 * where each stream starts and ends (index lookups and a backwards scan, never a full read).
 */

import type { LogQuery } from '../control/types.js';
import { isoUtc } from '../store/utc.js';
import {
  type IndexRecord,
  type LogFile,
  listFiles,
  offsetAtOrAfter,
  readFileRange,
  recordFor,
  recordsIn,
  type StreamName,
  startOfLastLines,
  streamEnd,
} from './files.js';

export interface LogSourceSpec {
  dir: string;
  stream: StreamName;
  /** Printed before each line when given (`logs <ws>`). */
  label?: string;
}

// The query is the control API's (adapters/control/types.ts), read here as it is.
export type { LogQuery };

export const chunkBytesMax = 256 * 1024;
const newline = Buffer.from('\n');
const lineBytesMax = 64 * 1024;

interface Piece {
  wallMs: number;
  seq: number;
  bytes: Buffer;
  lineStart: boolean;
  label: string | undefined;
}

function byteAt(files: LogFile[], offset: number): number | undefined {
  const file = files.find((f) => offset >= f.base && offset < f.base + f.size);
  return file ? readFileRange(file, offset, 1)[0] : undefined;
}

/** `offset` if a line starts there, else the start of the next line. */
function lineStartFrom(files: LogFile[], offset: number): number {
  const end = streamEnd(files);
  const begin = files[0]?.base ?? 0;
  if (offset <= begin || byteAt(files, offset - 1) === 0x0a) return offset;
  let pos = offset;
  for (const file of files) {
    while (pos < file.base + file.size && pos < end) {
      if (pos < file.base) pos = file.base;
      const block = readFileRange(file, pos, lineBytesMax);
      const nl = block.indexOf(0x0a);
      if (nl >= 0) return pos + nl + 1;
      pos += block.length;
      if (block.length === 0) break;
    }
  }
  return end;
}

/** One stream: its files (listed again when the reader runs past them) and position. */
class StreamReader {
  files: LogFile[] = [];
  pos = 0;
  end = Number.POSITIVE_INFINITY;
  private records: IndexRecord[] = [];
  private recordAt = 0;
  private lineWallMs = 0;
  private lineSeq = 0;
  private atLineStart = true;
  /** Bytes [blockAt, blockAt + block.length) of the stream, read ahead. */
  private block: Buffer = Buffer.alloc(0);
  private blockAt = 0;

  constructor(
    readonly spec: LogSourceSpec,
    q: LogQuery,
  ) {
    this.refresh();
    const begin = this.files[0]?.base ?? 0;
    const last = streamEnd(this.files);
    let pos = begin;
    if (q.tailBytes !== undefined) pos = Math.max(begin, last - q.tailBytes);
    if (q.lines !== undefined) pos = Math.max(pos, startOfLastLines(this.files, q.lines));
    if (q.sinceMs !== undefined) {
      pos = Math.max(pos, lineStartFrom(this.files, offsetAtOrAfter(this.files, q.sinceMs)));
    }
    if (q.untilMs !== undefined) {
      this.end = lineStartFrom(this.files, offsetAtOrAfter(this.files, q.untilMs + 1));
    }
    this.pos = pos;
    this.atLineStart = pos === begin || byteAt(this.files, pos - 1) === 0x0a;
  }

  refresh(): void {
    this.files = listFiles(this.spec.dir, this.spec.stream);
    this.records = [];
  }

  /** Up to `max` bytes from the position (none when caught up). */
  read(max: number): Buffer {
    for (let attempt = 0; attempt < 2; attempt++) {
      const begin = this.files[0]?.base ?? 0;
      if (this.pos < begin) this.pos = begin; // rotated away while we were paused
      const limit = Math.min(max, this.end - this.pos);
      const file = this.files.find((f) => this.pos >= f.base && this.pos < f.base + f.size);
      if (limit > 0 && file) {
        const bytes = readFileRange(file, this.pos, limit);
        if (bytes.length > 0) return bytes;
      }
      if (limit <= 0) return Buffer.alloc(0);
      this.refresh();
    }
    return Buffer.alloc(0);
  }

  /** The stamp of the chunk holding `offset`. */
  private stampAt(offset: number): IndexRecord {
    const file = this.files.find((f) => offset >= f.base && offset < f.base + f.size);
    if (!file || file.records === 0) return { wallMs: 0, offset, seq: 0 };
    const first = this.records[0];
    if (!first || first.offset > offset || first.offset < file.base) {
      const i = recordFor(file, offset);
      this.records = recordsIn(file, i, Math.min(file.records, i + 4096));
      this.recordAt = 0;
    }
    for (;;) {
      const next = this.records[this.recordAt + 1];
      if (next && next.offset <= offset) this.recordAt++;
      else if (!next && this.records.length >= 4096) {
        const i = recordFor(file, offset);
        this.records = recordsIn(file, i, Math.min(file.records, i + 4096));
        this.recordAt = 0;
        if (this.records.length <= 1) break;
      } else break;
    }
    return this.records[this.recordAt] ?? { wallMs: 0, offset, seq: 0 };
  }

  /** Bytes at the position, from a block read ahead (one read per block, not per line). */
  private view(max: number): Buffer {
    const at = this.pos - this.blockAt;
    if (at < 0 || at >= this.block.length) {
      this.block = this.read(chunkBytesMax);
      this.blockAt = this.pos;
      return this.block.subarray(0, max);
    }
    return this.block.subarray(at, at + max);
  }

  /** The next line (or a piece of a long one), or null when caught up. */
  piece(): Piece | null {
    const bytes = this.view(lineBytesMax);
    if (bytes.length === 0) return null;
    const nl = bytes.indexOf(0x0a);
    const take = nl >= 0 ? bytes.subarray(0, nl + 1) : bytes;
    const lineStart = this.atLineStart;
    if (lineStart) {
      const stamp = this.stampAt(this.pos);
      this.lineWallMs = stamp.wallMs;
      this.lineSeq = stamp.seq;
    }
    this.pos += take.length;
    this.atLineStart = nl >= 0;
    return {
      wallMs: this.lineWallMs,
      seq: this.lineSeq,
      bytes: take,
      lineStart,
      label: this.spec.label,
    };
  }
}

/** Line prefixes (label, time), the last one kept: consecutive lines mostly share it. */
class Prefixes {
  private lastKey = '';
  private last: Buffer = Buffer.alloc(0);

  constructor(
    private readonly timestamps: boolean,
    public labelWidth: number,
  ) {}

  of(p: Piece): Buffer | null {
    if (!p.lineStart || (p.label === undefined && !this.timestamps)) return null;
    const key = `${p.label ?? ''}\u0000${this.timestamps ? p.wallMs : ''}`;
    if (key !== this.lastKey) {
      let s = '';
      if (p.label !== undefined) s += `${p.label.padEnd(this.labelWidth)} | `;
      if (this.timestamps) s += `${isoUtc(p.wallMs)} `;
      this.last = Buffer.from(s);
      this.lastKey = key;
    }
    return this.last;
  }
}

export class LogCursor {
  private readonly readers: StreamReader[];
  private readonly ahead: (Piece | null)[];
  private readonly raw: boolean;
  private readonly prefixes: Prefixes;
  private labelled: boolean;
  /** Where streams added later start and end (`since`/`until`; never `lines`/`tail`). */
  private readonly laterQuery: LogQuery;
  /** The last piece written ended its line (a merged view ends a cut-off line itself). */
  private lineEnded = true;
  private pending: Buffer[] = [];
  /** The reader whose line is unfinished: it goes on before any other. */
  private sticky = -1;
  /** Readers found caught up during this `next()` (not asked again until the next one). */
  private readonly dry = new Set<number>();

  constructor(sources: LogSourceSpec[], q: LogQuery) {
    const labelled = sources.some((s) => s.label !== undefined);
    this.labelled = labelled;
    this.readers = sources.map((s) => new StreamReader(s, q));
    this.ahead = this.readers.map(() => null);
    this.raw = sources.length === 1 && !labelled && !q.timestamps;
    const labelWidth = Math.max(0, ...sources.map((s) => s.label?.length ?? 0));
    this.prefixes = new Prefixes(q.timestamps === true, labelWidth);
    this.laterQuery = {
      ...(q.sinceMs === undefined ? {} : { sinceMs: q.sinceMs }),
      ...(q.untilMs === undefined ? {} : { untilMs: q.untilMs }),
    };
    // Labelled streams (`logs <ws>`) get N lines each, like `docker compose logs -n`.
    if (!labelled && sources.length > 1 && q.lines !== undefined) this.lastLinesOfMerge(q.lines);
  }

  /**
   * One command's two streams with `lines`: the last N lines of their merge (each stream
   * starts at its own last N lines, which hold the merge's last N).
   */
  private lastLinesOfMerge(lines: number): void {
    this.dry.clear();
    const kept: Buffer[][] = [];
    for (let p = this.nextPiece(); p; p = this.nextPiece()) {
      if (p.lineStart || kept.length === 0) kept.push([]);
      const prefix = this.prefixes.of(p);
      kept[kept.length - 1]!.push(prefix ? Buffer.concat([prefix, p.bytes]) : p.bytes);
      if (kept.length > lines) kept.shift();
    }
    this.pending = kept.flat();
  }

  private nextPiece(): Piece | null {
    let best = -1;
    for (let i = 0; i < this.readers.length; i++) {
      if (this.ahead[i] === null && !this.dry.has(i)) {
        this.ahead[i] = this.readers[i]!.piece();
        if (this.ahead[i] === null) this.dry.add(i);
      }
      const p = this.ahead[i];
      if (!p) continue;
      if (i === this.sticky) {
        best = i;
        break;
      }
      const b = best >= 0 ? this.ahead[best]! : null;
      if (!b || p.wallMs < b.wallMs || (p.wallMs === b.wallMs && p.seq < b.seq)) best = i;
    }
    if (best < 0) return null;
    const p = this.ahead[best]!;
    this.ahead[best] = null;
    this.sticky = p.bytes[p.bytes.length - 1] === 0x0a ? -1 : best;
    return p;
  }

  /** The next chunk of output, or null when caught up (follow: try again later). */
  next(): Buffer | null {
    this.dry.clear();
    if (this.pending.length > 0) {
      const out = Buffer.concat(this.pending);
      this.pending = [];
      return out;
    }
    if (this.raw) {
      const r = this.readers[0]!;
      const bytes = r.read(chunkBytesMax);
      r.pos += bytes.length;
      return bytes.length > 0 ? bytes : null;
    }
    const parts: Buffer[] = [];
    let size = 0;
    while (size < chunkBytesMax) {
      const p = this.nextPiece();
      if (!p) break;
      const prefix = this.prefixes.of(p);
      if (this.labelled && p.lineStart && !this.lineEnded) parts.push(newline);
      this.lineEnded = p.bytes[p.bytes.length - 1] === 0x0a;
      if (prefix) parts.push(prefix);
      parts.push(p.bytes);
      size += (prefix?.length ?? 0) + p.bytes.length;
    }
    return parts.length > 0 ? Buffer.concat(parts) : null;
  }

  /**
   * Streams that began after the cursor was opened (a command started in a followed
   * workspace): merged from their first byte (`since`/`until` still bound them). Only for
   * a labelled (merged) cursor: a raw one copies its single stream.
   */
  add(sources: LogSourceSpec[]): void {
    if (this.raw) throw new Error('LogCursor.add: a raw cursor reads one stream');
    for (const s of sources) {
      this.readers.push(new StreamReader(s, this.laterQuery));
      this.ahead.push(null);
      if (s.label !== undefined) this.labelled = true;
      this.prefixes.labelWidth = Math.max(this.prefixes.labelWidth, s.label?.length ?? 0);
    }
  }

  /** Nothing more can come (an `until` bound was reached by every stream). */
  done(): boolean {
    return this.readers.length > 0 && this.readers.every((r) => r.pos >= r.end);
  }
}
