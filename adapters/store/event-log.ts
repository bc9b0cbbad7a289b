/**
 * The EventLog port on a size-rotated logfmt file (`events.log` next to the snapshot).
 * When an append would take the file past `maxBytes`, `events.log.N` files shift up
 * (`.1` → `.2` …, the oldest past `keep` is deleted) and `events.log` becomes `.1`.
 * Appends are synchronous `O_APPEND` writes: events must not be lost to a crash right after
 * them. The file stays open between appends (a worker draining tasks appends several events
 * per task); it is reopened after a rotation, and when it was removed or replaced behind our
 * back (its inode no longer the one at `path`). A failed append is reported once on stderr,
 * never thrown.
 */

import {
  constants,
  existsSync,
  fstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';
import type { EventLog, LifecycleEvent } from '../../core/ports.js';
import { eventFromLine, formatEvent } from './logfmt.js';
import { closeQuietly } from './quiet-fs.js';

export const eventsMaxBytesDefault = 1024 * 1024;
export const eventsKeepDefault = 3;

export interface FileEventLogOptions {
  path: string;
  /** Rotate before the file would exceed this many bytes. Default 1 MiB. */
  maxBytes?: number;
  /** Rotated files kept besides the live one. Default 3. */
  keep?: number;
  /** Where failures are reported (once). Default stderr. */
  warn?: (message: string) => void;
}

export interface FileEventLog extends EventLog {
  readonly path: string;
  /** Closes the live file (the next append opens it again). */
  close(): void;
  /** Events from the rotated files (oldest first) and the live file; newest last. */
  history(limit?: number): LifecycleEvent[];
}

export function createFileEventLog(options: FileEventLogOptions): FileEventLog {
  const { path } = options;
  const maxBytes = options.maxBytes ?? eventsMaxBytesDefault;
  const keep = options.keep ?? eventsKeepDefault;
  const warn = options.warn ?? ((m: string) => process.stderr.write(`shipote: ${m}\n`));
  let sizeBytes = currentSize(path);
  let warned = false;
  const file = new AppendFile(path);
  return {
    path,
    append(event: LifecycleEvent): void {
      const line = `${formatEvent(event)}\n`;
      const lineBytes = Buffer.byteLength(line);
      try {
        if (sizeBytes > 0 && sizeBytes + lineBytes > maxBytes) {
          file.close();
          rotate(path, keep);
          sizeBytes = 0;
        }
        file.append(line);
        sizeBytes += lineBytes;
      } catch (cause) {
        file.close();
        if (!warned) warn(`event log ${path}: ${(cause as Error).message}`);
        warned = true;
      }
    },
    close: () => file.close(),
    history: (limit) => readHistory(path, keep, limit),
  };
}

const appendFlags =
  constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW;

/**
 * The live file, held open. Opened with O_NOFOLLOW (a symbolic link planted at `path` is
 * refused, ELOOP); before each write the open inode is compared with the one at `path`
 * (one stat): if the file was removed, renamed or replaced, it is opened again.
 */
class AppendFile {
  private fd = -1;
  private ino = -1;
  constructor(private readonly path: string) {}

  append(line: string): void {
    if (this.fd >= 0 && this.stale()) this.close();
    if (this.fd < 0) this.open();
    writeSync(this.fd, line);
  }

  close(): void {
    if (this.fd < 0) return;
    closeQuietly(this.fd); // nothing can be pending on it: writes are synchronous
    this.fd = -1;
  }

  private open(): void {
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
    this.fd = openSync(this.path, appendFlags, 0o600);
    this.ino = fstatSync(this.fd).ino;
  }

  private stale(): boolean {
    try {
      return statSync(this.path).ino !== this.ino;
    } catch {
      return true;
    }
  }
}

function currentSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

export function rotate(path: string, keep: number): void {
  if (keep <= 0) {
    unlinkSync(path);
    return;
  }
  const oldest = `${path}.${keep}`;
  if (existsSync(oldest)) unlinkSync(oldest);
  for (let n = keep - 1; n >= 1; n -= 1) {
    const from = `${path}.${n}`;
    if (existsSync(from)) renameSync(from, `${path}.${n + 1}`);
  }
  renameSync(path, `${path}.1`);
}

function readHistory(path: string, keep: number, limit?: number): LifecycleEvent[] {
  const files: string[] = [];
  for (let n = keep; n >= 1; n -= 1) files.push(`${path}.${n}`);
  files.push(path);
  const events: LifecycleEvent[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue; // A rotated file that does not exist yet: nothing to read.
    }
    for (const line of text.split('\n')) {
      const event = line ? eventFromLine(line) : null;
      if (event) events.push(event);
    }
  }
  return limit !== undefined && events.length > limit ? events.slice(-limit) : events;
}
