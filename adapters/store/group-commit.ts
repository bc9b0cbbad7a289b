/**
 * Group commit for the snapshot file: `stage` writes the text to a fresh temp file on the
 * event loop (its failures — ENOSPC, EACCES, EROFS… — are the write's, so the engine step
 * it belongs to is aborted as before); the fsync of that file, its rename over the
 * snapshot and the fsync of the directory follow off the event loop (fsync in the libuv
 * threadpool), and `durable()` resolves once everything staged before the call is on disk.
 * The control server awaits it before it replies to a change (contract §5: an acknowledged
 * intent is durable), so concurrent writers share one fsync, and a slow disk stalls their
 * replies, not the daemon.
 *
 * Only the newest staged text is ever committed: each is a whole snapshot of a later state,
 * so it holds every earlier one's intents; a superseded temp file is removed unrenamed.
 * A commit that fails (EIO at fsync, a rename refused) fails every reply it covered (they
 * say the write failed) and the next `durable()` stages the last text again. A kill -9 at
 * any point leaves the old snapshot or a newer whole one; what was staged but not yet
 * committed was never acknowledged.
 */

import { close, closeSync, fsync, fsyncSync, openSync, renameSync } from 'node:fs';
import { dirname } from 'node:path';
import type { PortError, PortResult } from '../../core/ports.js';
import { toPortError } from './errors.js';
import { closeQuietly, unlinkQuietly } from './quiet-fs.js';

interface Staged {
  seq: number;
  temp: string;
  fd: number;
}

interface Waiter {
  seq: number;
  resolve: (failure: PortError | null) => void;
}

export interface GroupCommit {
  /** Phase one, on the event loop: the text in a fresh fsync-pending temp file. */
  stage(text: string): PortResult<true>;
  /** Resolves (null) once every text staged so far is durable, or with the failure. */
  durable(): Promise<PortError | null>;
  /** Makes the newest staged text durable now, synchronously (exit paths). */
  settleSync(): PortError | null;
}

export interface GroupCommitIo {
  /** Writes `text` to a new temp file beside `path`; its open fd and name. */
  writeTemp(text: string): { fd: number; temp: string };
  /** fsync in the threadpool. */
  fsyncAsync(fd: number): Promise<void>;
  fsyncDirAsync(dir: string): Promise<void>;
  fsyncDirSync(dir: string): void;
}

const fsyncP = (fd: number) =>
  new Promise<void>((resolve, reject) => fsync(fd, (e) => (e ? reject(e) : resolve())));

export function defaultGroupCommitIo(writeTemp: GroupCommitIo['writeTemp']): GroupCommitIo {
  const fsyncDirSync = (dir: string) => {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  };
  return {
    writeTemp,
    fsyncAsync: fsyncP,
    fsyncDirAsync: async (dir) => {
      const fd = openSync(dir, 'r');
      try {
        await fsyncP(fd);
      } finally {
        close(fd, () => undefined);
      }
    },
    fsyncDirSync,
  };
}

export function createGroupCommit(path: string, io: GroupCommitIo): GroupCommit {
  return new Committer(path, io);
}

class Committer implements GroupCommit {
  private stagedSeq = 0;
  private durableSeq = 0;
  private newest: Staged | null = null;
  private lastText: string | null = null;
  private failure: PortError | null = null;
  /** The seq of the last commit that failed (0: none since the last success). */
  private failedSeq = 0;
  private running = false;
  /** The text whose fsync is in the threadpool now (its fd stays open until it returns). */
  private inflight: Staged | null = null;
  private readonly waiters: Waiter[] = [];

  constructor(
    private readonly path: string,
    private readonly io: GroupCommitIo,
  ) {}

  stage(text: string): PortResult<true> {
    let written: { fd: number; temp: string };
    try {
      written = this.io.writeTemp(text);
    } catch (cause) {
      return { ok: false, error: toPortError('Store', 'write', cause) };
    }
    if (this.newest !== null) discard(this.newest);
    this.stagedSeq += 1;
    this.newest = { seq: this.stagedSeq, ...written };
    this.lastText = text;
    void this.run();
    return { ok: true, value: true };
  }

  durable(): Promise<PortError | null> {
    if (this.durableSeq >= this.stagedSeq) return Promise.resolve(null);
    const failedLast = this.failedSeq === this.stagedSeq && this.newest === null;
    if (failedLast && this.lastText !== null) {
      // The last commit failed and nothing newer came: stage the same text again.
      const again = this.stage(this.lastText);
      if (!again.ok) return Promise.resolve(again.error);
    }
    const seq = this.stagedSeq;
    return new Promise((resolve) => this.waiters.push({ seq, resolve }));
  }

  settleSync(): PortError | null {
    if (this.durableSeq >= this.stagedSeq) return null;
    const s = this.newest ?? this.inflight;
    if (s === null || s.seq <= this.durableSeq) return this.failure;
    const ownFd = s === this.newest; // an in-flight fd is closed by its commit when it returns
    this.newest = null;
    try {
      if (s.fd < 0) {
        // In flight past its fsync and rename: only its directory's fsync is outstanding.
        this.io.fsyncDirSync(dirname(this.path));
        this.landed(s.seq);
        return null;
      }
      fsyncSync(s.fd);
      if (ownFd) closeOnce(s);
      renameSync(s.temp, this.path);
      this.io.fsyncDirSync(dirname(this.path));
      this.landed(s.seq);
      return null;
    } catch (cause) {
      if (ownFd) discard(s);
      return this.failed(s.seq, cause);
    }
  }

  /** One commit at a time, always of the newest text (commitOne never throws). */
  private async run(): Promise<void> {
    if (this.running) return;
    this.running = true;
    while (this.newest !== null) {
      const s = this.newest;
      this.newest = null;
      await this.commitOne(s);
    }
    this.running = false;
  }

  /** fsync (threadpool), rename (here: a settleSync may have overtaken it), fsync dir. */
  private async commitOne(s: Staged): Promise<void> {
    this.inflight = s;
    try {
      await this.io.fsyncAsync(s.fd);
      closeOnce(s);
      if (s.seq <= this.durableSeq) {
        unlinkQuietly(s.temp); // settleSync committed it, or a newer one, meanwhile
        return;
      }
      renameSync(s.temp, this.path);
      await this.io.fsyncDirAsync(dirname(this.path));
      this.landed(s.seq);
    } catch (cause) {
      discard(s);
      this.failed(s.seq, cause);
    } finally {
      this.inflight = null;
    }
  }

  private landed(seq: number): void {
    this.durableSeq = Math.max(this.durableSeq, seq);
    this.failure = null;
    this.settle(seq, null);
  }

  private failed(seq: number, cause: unknown): PortError {
    const failure = toPortError('Store', 'write', cause);
    this.failure = failure;
    this.failedSeq = seq;
    this.settle(seq, failure);
    return failure;
  }

  private settle(seq: number, error: PortError | null): void {
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const w = this.waiters[i] as Waiter;
      if (w.seq > seq) continue;
      this.waiters.splice(i, 1);
      w.resolve(error);
    }
  }
}

/** Each fd is closed once: a number closed twice may be someone else's by then. */
function closeOnce(s: Staged): void {
  if (s.fd >= 0) closeQuietly(s.fd);
  s.fd = -1;
}

function discard(s: Staged): void {
  closeOnce(s);
  unlinkQuietly(s.temp);
}
