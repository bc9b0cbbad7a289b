/**
 * Captured stdout/stderr per key, in bounded rings (ByteRing from core/flow): one per
 * stream and one interleaved in arrival order for `both`. Followers get live chunks.
 * Released keys keep their logs (a dead command's logs stay readable) until
 * `releasedKeysMax` newer keys have been released.
 */

import { ByteRing } from '../../core/flow/index.js';
import type { ChunkHandler, Reader } from './capture.js';

/** Starts reading a capture (a pipe fd, or one the addon already runs). */
export type StartReader = (onChunk: ChunkHandler) => Reader;

import type { OutputName } from '../../core/manifest/types.js';

export type LogWhich = OutputName | 'both';
export type LogListener = (chunk: Uint8Array, stream: OutputName) => void;

interface KeyLogs {
  stdout: ByteRing;
  stderr: ByteRing;
  both: ByteRing;
  followers: Set<{ which: LogWhich; listener: LogListener }>;
  /** Open capture readers. */
  open: Set<Reader>;
  /** Called once every open reader reached EOF. */
  drained: (() => void)[];
}

export class LogStore {
  private readonly byKey = new Map<string, KeyLogs>();
  private readonly released: string[] = [];

  constructor(
    private readonly capacityBytes: number,
    private readonly releasedKeysMax = 64,
  ) {}

  private entry(key: string): KeyLogs {
    let e = this.byKey.get(key);
    if (!e) {
      const cap = this.capacityBytes;
      e = {
        stdout: new ByteRing(cap),
        stderr: new ByteRing(cap),
        both: new ByteRing(cap),
        followers: new Set(),
        open: new Set(),
        drained: [],
      };
      this.byKey.set(key, e);
    }
    const at = this.released.indexOf(key);
    if (at >= 0) this.released.splice(at, 1); // in use again (a restart reuses its key)
    return e;
  }

  push(key: string, stream: OutputName, chunk: Uint8Array): void {
    const e = this.entry(key);
    e[stream].push(chunk);
    e.both.push(chunk);
    for (const f of e.followers) {
      if (f.which === 'both' || f.which === stream) f.listener(chunk, stream);
    }
  }

  /** Reads a capture into the key's `stream` ring until EOF. */
  capture(key: string, stream: OutputName, start: StartReader): void {
    const e = this.entry(key);
    const reader = start((chunk) => {
      if (chunk) {
        this.push(key, stream, chunk);
        return;
      }
      e.open.delete(reader);
      if (e.open.size > 0) return;
      const waiting = e.drained.splice(0);
      for (const fire of waiting) fire();
    });
    e.open.add(reader);
  }

  /** `fire` once every capture of `key` reached EOF (at once when none is open). */
  whenDrained(key: string, fire: () => void): void {
    const e = this.byKey.get(key);
    if (!e || e.open.size === 0) fire();
    else e.drained.push(fire);
  }

  tail(key: string, which: LogWhich, tailBytes?: number): Uint8Array {
    const e = this.byKey.get(key);
    return e ? e[which].tail(tailBytes) : new Uint8Array(0);
  }

  bytes(key: string): { stdout: number; stderr: number } {
    const e = this.byKey.get(key);
    return { stdout: e?.stdout.totalBytes ?? 0, stderr: e?.stderr.totalBytes ?? 0 };
  }

  follow(key: string, which: LogWhich, listener: LogListener): () => void {
    const f = { which, listener };
    const e = this.entry(key);
    e.followers.add(f);
    return () => e.followers.delete(f);
  }

  release(key: string): void {
    if (!this.byKey.has(key) || this.released.includes(key)) return;
    this.released.push(key);
    while (this.released.length > this.releasedKeysMax) {
      const old = this.released.shift()!;
      this.byKey.delete(old);
    }
  }

  close(): void {
    for (const e of this.byKey.values()) for (const r of e.open) r.close();
    this.byKey.clear();
  }
}
