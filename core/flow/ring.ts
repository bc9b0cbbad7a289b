/**
 * Bounded byte ring for captured logs: keeps the last `capacityBytes` bytes pushed, in
 * order, and counts what it had to drop.
 */

export class ByteRing {
  readonly capacityBytes: number;
  private readonly buf: Uint8Array;
  /** Index of the oldest byte held. */
  private start = 0;
  private held = 0;
  private pushedBytes = 0;

  constructor(capacityBytes: number) {
    if (!Number.isSafeInteger(capacityBytes) || capacityBytes < 0) {
      throw new RangeError(`ByteRing capacity must be a non-negative integer: ${capacityBytes}`);
    }
    this.capacityBytes = capacityBytes;
    this.buf = new Uint8Array(capacityBytes);
  }

  /** Bytes held now (at most `capacityBytes`). */
  get size(): number {
    return this.held;
  }

  /** Every byte ever pushed. */
  get totalBytes(): number {
    return this.pushedBytes;
  }

  /** Bytes pushed that are no longer held. */
  get droppedBytes(): number {
    return this.pushedBytes - this.held;
  }

  push(chunk: Uint8Array): void {
    this.pushedBytes += chunk.length;
    const cap = this.capacityBytes;
    if (cap === 0 || chunk.length === 0) return;
    const kept = chunk.length > cap ? chunk.subarray(chunk.length - cap) : chunk;
    // Where the new bytes go: right after the newest held byte.
    const writeAt = (this.start + this.held) % cap;
    const firstPart = Math.min(kept.length, cap - writeAt);
    this.buf.set(kept.subarray(0, firstPart), writeAt);
    this.buf.set(kept.subarray(firstPart), 0);
    const total = this.held + kept.length;
    if (total > cap) {
      this.start = (this.start + (total - cap)) % cap;
      this.held = cap;
    } else {
      this.held = total;
    }
  }

  /** The last `maxBytes` bytes held (all when omitted), oldest first, as a copy. */
  tail(maxBytes?: number): Uint8Array {
    const want = maxBytes === undefined ? this.held : Math.max(0, Math.min(maxBytes, this.held));
    const out = new Uint8Array(want);
    if (want === 0) return out;
    const cap = this.capacityBytes;
    const from = (this.start + this.held - want) % cap;
    const firstPart = Math.min(want, cap - from);
    out.set(this.buf.subarray(from, from + firstPart), 0);
    out.set(this.buf.subarray(0, want - firstPart), firstPart);
    return out;
  }
}
