/** What one attack reports: its figures on one line, and whether it held. */

export interface Outcome {
  attack: string;
  ok: boolean;
  /** `requests answered 150/150, acknowledged writes lost 0, ...` */
  figures: string;
  /** Why it failed (or was skipped), when it did. */
  notes: string[];
}

export interface StressOptions {
  long: boolean;
  /** Deterministic mutations: the same seed gives the same attack. */
  seed: number;
}

export function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** xorshift32: small, seeded, good enough to pick mutations. */
export function rng(seed: number): (n: number) => number {
  let x = seed >>> 0 || 1;
  return (n: number) => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x % n;
  };
}
