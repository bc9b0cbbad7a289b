/**
 * A tapped edge as seen by the daemon: the pump writes a copy of the edge's bytes into a
 * pipe we read here. The bytes feed a replay buffer, a throughput meter, a one-off sample
 * (`tap-sample` event) and every reader attached to the edge's flow Unix socket. A reader
 * that attaches late first receives the replay buffer, then live bytes. What the replay
 * and the readers' backlogs hold counts against the daemon-wide byte budget: when a chunk
 * does not fit, the reader furthest behind is dropped (a stalled `flow tail` never grows
 * the daemon) and, if still short, the chunk is not kept for replay.
 */

import { unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { ReplayBuffer, ThroughputMeter } from '../../core/flow/index.js';
import type { GroupTap, KernelEvent } from '../../core/ports.js';
import { ByteBudget } from './budget.js';
import type { ChunkHandler, Reader } from './capture.js';

/** A reader this far behind is dropped rather than buffered without bound. */
const READER_BACKLOG_BYTES_MAX = 8 * 1024 * 1024;

export interface FlowInfo {
  socketPath: string;
  key: string;
  edgeIndex: number;
  bytesTotal: number;
  bytesPerSec: number;
  /** Readers attached to the flow socket now. */
  readers: number;
}

export class TapFlow {
  private readonly replay: ReplayBuffer;
  private readonly meter = new ThroughputMeter();
  private readonly readers = new Set<Socket>();
  private readonly server: Server;
  private sample: Uint8Array[] = [];
  private sampleHeld = 0;
  private sampled = false;
  private ended = false;
  private source: Reader | null = null;
  private readonly unhold: () => void;

  constructor(
    readonly key: string,
    private readonly tap: GroupTap,
    readonly socketPath: string,
    private readonly emit: (event: KernelEvent) => void,
    private readonly nowMs: () => number,
    private readonly budget: ByteBudget = new ByteBudget(),
  ) {
    this.replay = new ReplayBuffer(tap.replayChunks, tap.replayBytes);
    this.unhold = budget.hold(() => this.heldBytes());
    try {
      unlinkSync(socketPath); // a stale socket of an earlier run of the same key
    } catch {
      // absent: the usual case
    }
    this.server = createServer((reader) => this.attach(reader));
    this.server.on('error', () => this.server.close());
    this.server.listen(socketPath);
  }

  /** Starts reading the tap pipe (a read end we own). */
  read(fd: number, open: (fd: number, onChunk: ChunkHandler) => Reader): void {
    this.source = open(fd, (chunk) => (chunk ? this.onData(chunk) : this.onEnd()));
  }

  info(): FlowInfo {
    const now = this.nowMs();
    return {
      socketPath: this.socketPath,
      key: this.key,
      edgeIndex: this.tap.edgeIndex,
      bytesTotal: this.meter.totalBytes,
      bytesPerSec: this.meter.bytesPerSec(now),
      readers: this.readers.size,
    };
  }

  /** Replay plus every reader's unsent backlog. */
  heldBytes(): number {
    let held = this.replay.bytes;
    for (const r of this.readers) held += r.writableLength;
    return held;
  }

  close(): void {
    this.unhold();
    this.source?.close();
    for (const r of this.readers) r.destroy();
    this.readers.clear();
    this.server.close();
    try {
      unlinkSync(this.socketPath);
    } catch {
      // already gone
    }
  }

  private attach(reader: Socket): void {
    reader.on('error', () => reader.destroy());
    for (const chunk of this.replay.chunks()) reader.write(chunk);
    if (this.ended) {
      reader.end();
      return;
    }
    this.readers.add(reader);
    reader.on('close', () => this.readers.delete(reader));
  }

  private onData(chunk: Buffer): void {
    this.makeRoom(chunk.length * Math.max(1, this.readers.size));
    if (this.budget.fits(chunk.length)) this.replay.push(chunk);
    this.meter.add(chunk.length, this.nowMs());
    this.takeSample(chunk);
    for (const r of this.readers) {
      if (r.writableLength > READER_BACKLOG_BYTES_MAX) r.destroy();
      else r.write(chunk);
    }
  }

  /** Drops the readers furthest behind until `bytes` fit the budget (or none is behind). */
  private makeRoom(bytes: number): void {
    while (!this.budget.fits(bytes)) {
      let worst: Socket | null = null;
      for (const r of this.readers) {
        if (r.writableLength > (worst?.writableLength ?? 0)) worst = r;
      }
      if (!worst) return;
      this.readers.delete(worst);
      worst.destroy();
    }
  }

  private takeSample(chunk: Uint8Array): void {
    if (this.sampled) return;
    const want = this.tap.sampleBytes - this.sampleHeld;
    const part = chunk.subarray(0, Math.max(0, want));
    this.sample.push(part);
    this.sampleHeld += part.length;
    if (this.sampleHeld >= this.tap.sampleBytes) this.flushSample();
  }

  private flushSample(): void {
    if (this.sampled) return;
    this.sampled = true;
    const bytes = Buffer.concat(this.sample);
    this.sample = [];
    if (bytes.length === 0) return;
    this.emit({ type: 'tap-sample', key: this.key, edgeIndex: this.tap.edgeIndex, bytes });
  }

  private onEnd(): void {
    this.ended = true;
    this.flushSample(); // a short stream is sniffed on what there is
    for (const r of this.readers) r.end();
    this.readers.clear();
  }
}
