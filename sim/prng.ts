/**
 * The simulator's only source of randomness: xoshiro128** on 32-bit integers, seeded
 * through splitmix32. One seed makes one root PRNG; every component gets its own stream
 * through `fork()`, so adding draws in one component never shifts another's.
 * Decisions use integers and integer ratios only; `float()` exists for the `ulid`
 * package, which wants a PRNG returning a number in [0, 1).
 */

/** A probability as an integer ratio: `numerator / denominator`. */
export interface Ratio {
  numerator: number;
  denominator: number;
}

export const ratio = (numerator: number, denominator: number): Ratio => {
  if (!Number.isInteger(numerator) || !Number.isInteger(denominator) || denominator <= 0) {
    throw new Error(
      `ratio: expected integers with denominator > 0, got ${numerator}/${denominator}`,
    );
  }
  if (numerator < 0 || numerator > denominator) {
    throw new Error(`ratio: expected 0 <= ${numerator} <= ${denominator}`);
  }
  return { numerator, denominator };
};

const TWO_POW_32 = 4294967296;

function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** `seed` is any non-negative safe integer; both 32-bit halves are mixed in. */
  constructor(seed: number) {
    if (!Number.isSafeInteger(seed) || seed < 0) {
      throw new Error(`Prng: expected a non-negative safe integer seed, got ${seed}`);
    }
    const low = seed >>> 0;
    const high = Math.floor(seed / TWO_POW_32) >>> 0;
    const state = { s: low ^ Math.imul(high, 0x27d4eb2f) };
    this.a = splitmix32(state);
    this.b = splitmix32(state);
    this.c = splitmix32(state);
    this.d = splitmix32(state) | 1;
  }

  /** Next uniformly distributed unsigned 32-bit integer. */
  u32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** Uniform integer in [0, bound), bound ≤ 2^32, without modulo bias. */
  int(bound: number): number {
    if (!Number.isInteger(bound) || bound <= 0 || bound > TWO_POW_32) {
      throw new Error(`Prng.int: expected 0 < bound <= 2^32, got ${bound}`);
    }
    const limit = TWO_POW_32 - (TWO_POW_32 % bound);
    for (;;) {
      const x = this.u32();
      if (x < limit) return x % bound;
    }
  }

  /** Uniform integer in [min, max], both inclusive. */
  range(min: number, max: number): number {
    if (max < min) throw new Error(`Prng.range: max ${max} < min ${min}`);
    return min + this.int(max - min + 1);
  }

  chance(r: Ratio): boolean {
    return this.int(r.denominator) < r.numerator;
  }

  boolean(): boolean {
    return (this.u32() & 1) === 1;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('Prng.pick: empty list');
    return items[this.int(items.length)] as T;
  }

  /** A child stream with its own state, seeded from this one. */
  fork(): Prng {
    return new Prng(this.u32() * 2048 + (this.u32() >>> 21));
  }

  /** [0, 1) for the `ulid` package only; never for a decision. */
  float(): number {
    return this.u32() / TWO_POW_32;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
