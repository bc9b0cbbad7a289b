/**
 * Quota evaluation and breach wording (contract §1): `memory: 12.00 MiB > 10.00 MiB limit`,
 * `nproc: 3 alive > 2 limit`. A 0 limit is no limit; `kill` wins over `log`.
 */

import type { EnforceAction } from '../manifest/types.js';

export interface QuotaLimits {
  memBytes: number;
  nproc: number;
}

export interface QuotaUsage {
  memBytes: number;
  nprocAlive: number;
}

export interface QuotaEnforce {
  mem: EnforceAction;
  nproc: EnforceAction;
}

export interface QuotaVerdict {
  breaches: string[];
  /** Which resources are over: stable across ticks, for de-duplicating breach events. */
  kinds: ('memory' | 'nproc')[];
  action: EnforceAction;
}

const MIB = 1024 * 1024;

/** Bytes as MiB with two decimals, integer arithmetic (half up). */
export function formatMiB(bytes: number): string {
  if (!Number.isInteger(bytes) || bytes < 0) {
    throw new Error(`formatMiB: bytes must be a non-negative integer, got ${bytes}`);
  }
  const centi = Math.floor((bytes * 100 + MIB / 2) / MIB);
  const frac = String(centi % 100).padStart(2, '0');
  return `${Math.floor(centi / 100)}.${frac} MiB`;
}

const RANK: Record<EnforceAction, number> = { none: 0, log: 1, kill: 2 };

function stronger(a: EnforceAction, b: EnforceAction): EnforceAction {
  // Stryker disable next-line EqualityOperator: equal ranks are the same action
  return RANK[b] > RANK[a] ? b : a;
}

export function evaluateQuota(
  limits: QuotaLimits,
  usage: QuotaUsage,
  enforce: QuotaEnforce,
): QuotaVerdict {
  const breaches: string[] = [];
  const kinds: QuotaVerdict['kinds'] = [];
  let action: EnforceAction = 'none';
  if (limits.memBytes > 0 && usage.memBytes > limits.memBytes) {
    breaches.push(`memory: ${formatMiB(usage.memBytes)} > ${formatMiB(limits.memBytes)} limit`);
    kinds.push('memory');
    action = stronger(action, enforce.mem);
  }
  if (limits.nproc > 0 && usage.nprocAlive > limits.nproc) {
    breaches.push(`nproc: ${usage.nprocAlive} alive > ${limits.nproc} limit`);
    kinds.push('nproc');
    action = stronger(action, enforce.nproc);
  }
  return { breaches, kinds, action };
}

/**
 * Does enforcing these limits need the periodic quota tick? Only a limit that is set and
 * whose action is `log` or `kill`. A cgroup does not exempt a workspace: `kill` promises a
 * stop within one tick of a breach, and the kernel's own enforcement can lag the usage
 * (the simulator's quota invariant holds the engine to it either way).
 */
export function needsQuotaTick(limits: QuotaLimits, enforce: QuotaEnforce): boolean {
  const mem = limits.memBytes > 0 && enforce.mem !== 'none';
  const nproc = limits.nproc > 0 && enforce.nproc !== 'none';
  return mem || nproc;
}
