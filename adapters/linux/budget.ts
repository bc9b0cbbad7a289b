/**
 * One daemon-wide byte budget for what the daemon holds in memory on behalf of streams:
 * flow replay buffers and the unsent backlog of flow readers (captured logs are on disk
 * and followers of them are paused by backpressure, so they hold nothing). Holders
 * report what they hold; nothing is reserved up front. `SHIPOTE_BUFFER_BYTES`, default
 * 64 MiB.
 */

export const bufferBytesDefault = 64 * 1024 * 1024;

export class ByteBudget {
  private readonly holders = new Set<() => number>();

  constructor(readonly totalBytes: number = bufferBytesDefault) {}

  /** Registers what a holder holds now; returns the function that unregisters it. */
  hold(held: () => number): () => void {
    this.holders.add(held);
    return () => {
      this.holders.delete(held);
    };
  }

  usedBytes(): number {
    let used = 0;
    for (const h of this.holders) used += h();
    return used;
  }

  /** Whether `bytes` more fit. */
  fits(bytes: number): boolean {
    return this.usedBytes() + bytes <= this.totalBytes;
  }
}
