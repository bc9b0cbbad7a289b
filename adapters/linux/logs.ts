/**
 * Captured stdout/stderr per key, on disk: the addon's writer thread splices each capture
 * pipe into `<dir>/<key>/<stream>.log` (rotated at `maxBytes`, `keep` files, a timestamp
 * index beside each; see adapters/logstore/files.ts). No byte goes through JavaScript and
 * nothing is held in memory: readers open the files (adapters/logstore/cursor.ts), so the
 * logs of a dead command, a stopped workspace or an earlier daemon stay readable until
 * retention removes them. Followers get a nudge (no bytes) when their key's files grew.
 */

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { OutputName } from '../../core/manifest/types.js';
import { keyDir, listFiles, streamEnd } from '../logstore/files.js';
import { isSysError, type NativeAddon } from './addon.js';

export type LogWhich = OutputName | 'both';
/** New bytes are on disk for the key (or a stream ended). */
export type LogListener = () => void;

export interface LogLimits {
  /** A file is rotated when it reaches this size. */
  maxBytes: number;
  /** Files per stream, the one being written included. */
  keep: number;
}

export const logLimitsDefault: LogLimits = { maxBytes: 16 * 1024 * 1024, keep: 3 };

/** A command's or node's own settings (a 0 or absent field: the store's default). */
export type LogLimitsOverride = Partial<LogLimits> | undefined;

interface KeyLogs {
  /** Native stream ids still capturing. */
  open: Map<number, OutputName>;
  /** Their streams' offsets when they were added (a pipe at EOF whose note is not in yet). */
  startBytes: Map<number, number>;
  ended: { stdout: number; stderr: number };
  followers: Set<LogListener>;
  /** Called once every open capture reached EOF (a worker's exit waits for its stderr). */
  drained: (() => void)[];
}

// The addon has one onLog callback per process: notes go to the store owning the id.
const owners = new Map<number, LogStore>();
const initialized = new WeakSet<NativeAddon>();

function onLog(id: number, bytes: number, eof: boolean): void {
  owners.get(id)?.onNote(id, bytes, eof);
}

/** Entries of keys with nothing open kept for their byte counts (a bound, not a leak). */
export const IDLE_KEYS_MAX = 1024;

export class LogStore {
  private readonly byKey = new Map<string, KeyLogs>();
  private readonly byId = new Map<number, string>();
  /**
   * Keys whose streams all ended and that nobody follows, oldest first. Their entries stay
   * (up to IDLE_KEYS_MAX) so the next process of the same key (a restart, a worker's next
   * task) reads its byte counts from memory instead of listing the key's files; a key
   * released by the engine goes at once.
   */
  private readonly idle = new Set<string>();

  constructor(
    private readonly native: NativeAddon,
    readonly dir: string,
    private readonly limits: LogLimits = logLimitsDefault,
    private readonly idleKeysMax = IDLE_KEYS_MAX,
  ) {
    if (!initialized.has(native)) {
      native.logInit(onLog);
      initialized.add(native);
    }
  }

  private entry(key: string): KeyLogs {
    this.idle.delete(key);
    let e = this.byKey.get(key);
    if (!e) {
      const ended = { stdout: 0, stderr: 0 };
      e = { open: new Map(), startBytes: new Map(), ended, followers: new Set(), drained: [] };
      this.byKey.set(key, e);
    }
    return e;
  }

  keyDir(key: string): string {
    return keyDir(this.dir, key);
  }

  /**
   * Nothing is created here: the writer thread makes the key's directory, its meta.json and
   * the stream's files when the first byte arrives (creating a file costs the kernel about a
   * millisecond; a silent process leaves no file). Readers take missing files as empty.
   */
  private start(key: string, stream: OutputName, open: (base: string) => number | unknown): void {
    const id = open(`${this.keyDir(key)}/${stream}`);
    if (typeof id !== 'number' || isSysError(id) || id <= 0) return;
    const e = this.entry(key);
    e.open.set(id, stream);
    e.startBytes.set(id, Math.max(0, this.native.logStartBytes(id)));
    this.byId.set(id, key);
    owners.set(id, this);
    if (e.followers.size > 0) this.native.logWatch(id, true);
  }

  /** The rotation a stream opens with: `own` field by field over the store's default. */
  limitsFor(own: LogLimitsOverride): LogLimits {
    return {
      maxBytes: own?.maxBytes || this.limits.maxBytes,
      keep: own?.keep || this.limits.keep,
    };
  }

  /**
   * A pipe read end (ours from now on, also on failure): from now on it goes to the key's
   * file, rotated by `own` (the command's settings) over the defaults. A stream whose file
   * is already open (a restart while the old pipe drains) keeps the rotation it opened with.
   */
  captureFd(key: string, stream: OutputName, fd: number, own?: LogLimits): void {
    const { maxBytes, keep } = this.limitsFor(own);
    this.start(key, stream, (base) => this.native.logOpen(fd, base, maxBytes, keep));
  }

  /**
   * The key's `meta.json` (adapters/logstore/meta.ts): written with its streams' first file
   * by the writer thread, or at once here when the key's directory already holds files.
   */
  writeMeta(key: string, text: string): void {
    const dir = this.keyDir(key);
    const fate = this.native.logMeta(dir, text);
    if (fate === 0) return;
    try {
      // 1: the writer thread may still be making the directory.
      if (fate === 1) mkdirSync(dir, { recursive: true, mode: 0o700 });
      writeFileSync(join(dir, 'meta.json'), text, { mode: 0o600 });
    } catch {
      // 2 and no directory: no stream of the key ever printed, so no meta is needed.
    }
  }

  onNote(id: number, bytes: number, eof: boolean): void {
    const key = this.byId.get(id);
    const e = key === undefined ? undefined : this.byKey.get(key);
    if (!e) return;
    if (eof) {
      const stream = e.open.get(id);
      if (stream) e.ended[stream] = bytes;
      e.open.delete(id);
      e.startBytes.delete(id);
      this.byId.delete(id);
      owners.delete(id);
    }
    for (const f of e.followers) f();
    if (eof && e.open.size === 0) for (const fire of e.drained.splice(0)) fire();
    if (eof && e.open.size === 0 && e.followers.size === 0) this.rest(key!);
  }

  /** `key` has nothing open and no follower: kept idle, the oldest idle one dropped. */
  private rest(key: string): void {
    const e = this.byKey.get(key);
    if (!e || e.open.size > 0 || e.followers.size > 0) return;
    this.idle.delete(key);
    this.idle.add(key);
    if (this.idle.size <= this.idleKeysMax) return;
    const oldest = this.idle.values().next().value as string;
    this.idle.delete(oldest);
    this.byKey.delete(oldest);
  }

  /** `fire` once every capture of `key` reached EOF (at once when none is open). */
  whenDrained(key: string, fire: () => void): void {
    const e = this.byKey.get(key);
    if (!e || e.open.size === 0) fire();
    else e.drained.push(fire);
  }

  /** Bytes the key's streams received, from the writer or, for older ones, the files. */
  bytes(key: string): { stdout: number; stderr: number } {
    const e = this.byKey.get(key);
    const out = { stdout: e?.ended.stdout ?? 0, stderr: e?.ended.stderr ?? 0 };
    for (const [id, stream] of e?.open ?? []) {
      // -1: the pipe reached EOF and its note is not in yet; until then, as when it began.
      const now = this.native.logBytes(id);
      out[stream] = now >= 0 ? now : (e?.startBytes.get(id) ?? 0);
    }
    if (!e) {
      const dir = this.keyDir(key);
      out.stdout = streamEnd(listFiles(dir, 'stdout'));
      out.stderr = streamEnd(listFiles(dir, 'stderr'));
    }
    return out;
  }

  follow(key: string, listener: LogListener): () => void {
    const e = this.entry(key);
    e.followers.add(listener);
    if (e.followers.size === 1) for (const id of e.open.keys()) this.native.logWatch(id, true);
    return () => {
      e.followers.delete(listener);
      if (e.followers.size > 0) return;
      for (const id of e.open.keys()) this.native.logWatch(id, false);
      if (e.open.size === 0) this.rest(key);
    };
  }

  /** The key's processes are gone: its captures end on their own (EOF). */
  release(key: string): void {
    const e = this.byKey.get(key);
    this.idle.delete(key);
    if (e && e.open.size === 0 && e.followers.size === 0) this.byKey.delete(key);
  }

  /** Stops capturing everything (the files stay). */
  close(): void {
    for (const id of this.byId.keys()) {
      this.native.logClose(id);
      owners.delete(id);
    }
    this.byId.clear();
    this.byKey.clear();
  }
}
