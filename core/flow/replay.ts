/**
 * The replay buffer of a tapped edge: the last `chunksMax` chunks, further capped at
 * `bytesMax` bytes in total (0 = chunk cap only). A late reader gets these first.
 */

export class ReplayBuffer {
  readonly chunksMax: number;
  readonly bytesMax: number;
  private held: Uint8Array[] = [];
  private heldBytes = 0;

  constructor(chunksMax: number, bytesMax: number) {
    if (!Number.isSafeInteger(chunksMax) || chunksMax < 0) {
      throw new RangeError(`ReplayBuffer chunksMax must be a non-negative integer: ${chunksMax}`);
    }
    if (!Number.isSafeInteger(bytesMax) || bytesMax < 0) {
      throw new RangeError(`ReplayBuffer bytesMax must be a non-negative integer: ${bytesMax}`);
    }
    this.chunksMax = chunksMax;
    this.bytesMax = bytesMax;
  }

  /** Bytes held now. */
  get bytes(): number {
    return this.heldBytes;
  }

  push(chunk: Uint8Array): void {
    if (this.chunksMax === 0 || chunk.length === 0) return;
    let kept = chunk;
    if (this.bytesMax > 0 && kept.length > this.bytesMax) {
      kept = kept.subarray(kept.length - this.bytesMax);
    }
    // Copy: the caller may reuse its buffer.
    this.held.push(kept.slice());
    this.heldBytes += kept.length;
    let drop = 0;
    let bytes = this.heldBytes;
    const overBytes = (): boolean => this.bytesMax > 0 && bytes > this.bytesMax;
    while (this.held.length - drop > this.chunksMax || overBytes()) {
      bytes -= this.held[drop]!.length;
      drop++;
    }
    if (drop > 0) {
      this.held = this.held.slice(drop);
      this.heldBytes = bytes;
    }
  }

  /** Held chunks, oldest first. */
  chunks(): Uint8Array[] {
    return [...this.held];
  }
}
