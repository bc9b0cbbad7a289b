/**
 * Token bucket for `max_bytes_per_sec`. Integer arithmetic only: tokens are counted in
 * milli-bytes, and a rate of R bytes/s refills exactly R milli-bytes per ms. Time is a
 * parameter; a clock that steps backwards refills nothing.
 */

const MILLI = 1000;

export interface Grant {
  /** Bytes the caller may send now (0..want). */
  grantedBytes: number;
  /** 0 when all was granted; else ms until the rest (capped at the burst) is available. */
  waitMs: number;
}

export class TokenBucket {
  readonly ratePerSec: number;
  readonly burstBytes: number;
  private tokensMilli: number;
  private lastMs: number | null = null;

  /** `ratePerSec` 0 = unlimited. The bucket starts full. */
  constructor(ratePerSec: number, burstBytes: number = ratePerSec) {
    if (!Number.isSafeInteger(ratePerSec) || ratePerSec < 0) {
      throw new RangeError(`TokenBucket rate must be a non-negative integer: ${ratePerSec}`);
    }
    if (!Number.isSafeInteger(burstBytes) || burstBytes < 0) {
      throw new RangeError(`TokenBucket burst must be a non-negative integer: ${burstBytes}`);
    }
    if (ratePerSec > 0 && burstBytes === 0) {
      throw new RangeError('TokenBucket burst must be at least 1 byte when rate-limited');
    }
    if (!Number.isSafeInteger(burstBytes * MILLI)) {
      throw new RangeError(`TokenBucket burst too large: ${burstBytes}`);
    }
    this.ratePerSec = ratePerSec;
    this.burstBytes = burstBytes;
    this.tokensMilli = burstBytes * MILLI;
  }

  private refill(nowMs: number): void {
    const last = this.lastMs;
    this.lastMs = last === null ? nowMs : Math.max(last, nowMs);
    if (last === null || nowMs <= last) return;
    const capMilli = this.burstBytes * MILLI;
    const missingMilli = capMilli - this.tokensMilli;
    const elapsedMs = nowMs - last;
    // Compare before multiplying so a long pause cannot overflow.
    if (elapsedMs >= Math.ceil(missingMilli / this.ratePerSec)) {
      this.tokensMilli = capMilli;
    } else {
      this.tokensMilli += elapsedMs * this.ratePerSec;
    }
  }

  take(wantBytes: number, nowMs: number): Grant {
    if (wantBytes <= 0) return { grantedBytes: 0, waitMs: 0 };
    if (this.ratePerSec === 0) return { grantedBytes: wantBytes, waitMs: 0 };
    this.refill(nowMs);
    const available = Math.floor(this.tokensMilli / MILLI);
    const grantedBytes = Math.min(wantBytes, available);
    this.tokensMilli -= grantedBytes * MILLI;
    if (grantedBytes === wantBytes) return { grantedBytes, waitMs: 0 };
    const restBytes = Math.min(wantBytes - grantedBytes, this.burstBytes);
    const shortMilli = restBytes * MILLI - this.tokensMilli;
    return { grantedBytes, waitMs: Math.max(1, Math.ceil(shortMilli / this.ratePerSec)) };
  }
}
