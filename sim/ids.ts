/**
 * SimIds — ULIDs from the `ulid` package's monotonic factory, fed by the seed's PRNG and
 * the simulated wall clock, so the same seed gives the same ids.
 * Fault model: none.
 */

import { monotonicFactory } from 'ulid';
import type { Ids } from '../core/ports.js';
import type { Prng } from './prng.js';

export class SimIds implements Ids {
  private readonly factory: (seedTime?: number) => string;

  constructor(
    prng: Prng,
    private readonly wallMs: () => number,
  ) {
    this.factory = monotonicFactory(() => prng.float());
  }

  next(): string {
    return this.factory(this.wallMs());
  }
}
