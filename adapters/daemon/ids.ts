/**
 * The Ids port: ULIDs (https://github.com/ulid/spec), monotonic within the same
 * millisecond. Written here rather than taken from the `ulid` package (which the simulator
 * still uses) because that package imports `node:crypto` and touches WebCrypto, about
 * 3 MiB that stayed resident in the daemon (bench/idle.ts); the random part comes from
 * /dev/urandom (adapters/store/random.ts).
 */

import type { Ids } from '../../core/ports.js';
import { randomBytes } from '../store/random.js';

/** Crockford's base32, as the spec has it. */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const TIME_DIGITS = 10;
const RANDOM_DIGITS = 16;

function encodeTime(ms: number): string {
  let out = '';
  let rest = ms;
  for (let i = 0; i < TIME_DIGITS; i++) {
    out = ALPHABET[rest % 32] + out;
    rest = Math.floor(rest / 32);
  }
  return out;
}

/** 16 base32 digits (80 random bits): each from the low 5 bits of one random byte. */
function randomDigits(): number[] {
  return [...randomBytes(RANDOM_DIGITS)].map((b) => b & 31);
}

/** The next value of the random part, for a second id in the same millisecond. */
function increment(digits: number[]): number[] | null {
  const next = [...digits];
  for (let i = next.length - 1; i >= 0; i--) {
    if ((next[i] as number) < 31) {
      next[i] = (next[i] as number) + 1;
      return next;
    }
    next[i] = 0;
  }
  return null; // 2^80 ids in one millisecond: the spec's overflow.
}

/** A monotonic ULID source; `wallMs` is the clock (Date.now by default). */
export function ulidFactory(wallMs: () => number = Date.now): () => string {
  let lastMs = -1;
  let last: number[] = [];
  return () => {
    const now = wallMs();
    // Same millisecond, or the clock went back: stay after the previous id.
    const next = now <= lastMs ? increment(last) : null;
    if (next === null && now <= lastMs) throw new Error('ULID random part overflowed');
    if (next !== null) last = next;
    else {
      lastMs = now;
      last = randomDigits();
    }
    return encodeTime(lastMs) + last.map((d) => ALPHABET[d]).join('');
  };
}

export function createUlidIds(): Ids {
  const next = ulidFactory();
  return { next: () => next() };
}
