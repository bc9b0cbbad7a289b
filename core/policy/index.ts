/**
 * Supervision policy: small pure decisions. `Policy` bundles them so the engine can take
 * an injected one (the simulator's canary swaps in a deliberately broken policy).
 */

import { recordDeath } from './intensity.js';
import { evaluateQuota } from './quota.js';
import { decideRestart } from './restart.js';
import { throttleStartMs } from './throttle.js';

export * from './backoff.js';
export * from './incarnation.js';
export * from './intensity.js';
export * from './permafail.js';
export * from './quota.js';
export * from './restart.js';
export * from './throttle.js';

export interface Policy {
  decideRestart: typeof decideRestart;
  recordDeath: typeof recordDeath;
  throttleStartMs: typeof throttleStartMs;
  evaluateQuota: typeof evaluateQuota;
}

export const defaultPolicy: Policy = {
  decideRestart,
  recordDeath,
  throttleStartMs,
  evaluateQuota,
};
