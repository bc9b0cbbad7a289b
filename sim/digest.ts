/**
 * A seed's fingerprint, for proving that a change to the engine or the simulator kept
 * behaviour: every snapshot text the engine wrote (byte for byte), every lifecycle event,
 * every spawn and exit the kernel recorded, and the run's counters. Two runs of the same
 * seed print the same digest; `npm run sim -- --digests FILE` writes one line per seed.
 */

import { createHash, type Hash } from 'node:crypto';

export class Digest {
  private readonly hash: Hash | null;

  constructor(readonly enabled: boolean) {
    this.hash = enabled ? createHash('sha256') : null;
  }

  add(part: string): void {
    this.hash?.update(part).update('\0');
  }

  /** The hex digest, or null when disabled. Call once. */
  finish(): string | null {
    return this.hash === null ? null : this.hash.digest('hex').slice(0, 32);
  }
}
