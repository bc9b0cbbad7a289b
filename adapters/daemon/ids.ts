/** The Ids port: ULIDs, monotonic within the same millisecond. */

import { monotonicFactory } from 'ulid';
import type { Ids } from '../../core/ports.js';

export function createUlidIds(): Ids {
  const next = monotonicFactory();
  return { next: () => next() };
}
