/**
 * Bytes per second over a sliding window, bucketed per whole second of `nowMs`.
 * Integer results; time is a parameter.
 */

const BUCKET_MS = 1000;

export class ThroughputMeter {
  readonly windowMs: number;
  private readonly buckets = new Map<number, number>();
  private firstMs: number | null = null;
  private total = 0;

  constructor(windowMs = 5000) {
    if (!Number.isSafeInteger(windowMs) || windowMs < BUCKET_MS) {
      throw new RangeError(`ThroughputMeter window must be an integer >= 1000 ms: ${windowMs}`);
    }
    this.windowMs = windowMs;
  }

  get totalBytes(): number {
    return this.total;
  }

  add(bytes: number, nowMs: number): void {
    if (bytes <= 0) return;
    if (this.firstMs === null) this.firstMs = nowMs;
    this.total += bytes;
    const bucket = Math.floor(nowMs / BUCKET_MS);
    this.buckets.set(bucket, (this.buckets.get(bucket) ?? 0) + bytes);
    this.prune(nowMs);
  }

  private oldestBucket(nowMs: number): number {
    return Math.floor((nowMs - this.windowMs) / BUCKET_MS) + 1;
  }

  private prune(nowMs: number): void {
    const oldest = this.oldestBucket(nowMs);
    for (const bucket of this.buckets.keys()) {
      if (bucket < oldest) this.buckets.delete(bucket);
    }
  }

  /** Bytes in the window divided by the window (or by the time since the first byte). */
  bytesPerSec(nowMs: number): number {
    if (this.firstMs === null) return 0;
    const oldest = this.oldestBucket(nowMs);
    const newest = Math.floor(nowMs / BUCKET_MS);
    let sum = 0;
    for (const [bucket, bytes] of this.buckets) {
      if (bucket >= oldest && bucket <= newest) sum += bytes;
    }
    const spanMs = Math.max(BUCKET_MS, Math.min(this.windowMs, nowMs - this.firstMs));
    return Math.floor((sum * 1000) / spanMs);
  }
}
