/**
 * `npm run mutate` only (jest.mutate.config.mjs): a property that fails stops at its first
 * counterexample. Shrinking it helps a reader, not a mutant's verdict, and a mutant whose
 * shrinking outlasts the time limit is reported as a timeout instead of killed.
 */
import fc from 'fast-check';

fc.configureGlobal({ endOnFailure: true });
