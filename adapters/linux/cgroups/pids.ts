/** Pids controller: pids.max and pids.current, same names on v1 and v2 (4.3+ / 4.5+). */

import type { PortResult } from '../../../core/ports.js';
import { readText, writeText } from './fsio.js';
import { parseSingle } from './parse.js';
import type { Placement } from './placement.js';
import { limitFromText, limitToV2 } from './values.js';

function dirOf(p: Placement): string | null {
  return p.version === 'v2' ? p.unified : (p.v1.pids ?? null);
}

export function isSet(p: Placement, pids: number): boolean {
  const dir = dirOf(p);
  if (!dir) return pids === 0;
  return limitFromText(readText(`${dir}/pids.max`)) === pids;
}

export function set(p: Placement, pids: number): PortResult<true> {
  const dir = dirOf(p);
  if (!dir) return { ok: true, value: true }; // no pids controller: accounted, not enforced
  // Both versions spell "no limit" as `max` in pids.max.
  return writeText('create', `${dir}/pids.max`, limitToV2(pids));
}

export function stat(p: Placement): { pids: number } {
  const dir = dirOf(p);
  const v = dir ? parseSingle(readText(`${dir}/pids.current`) ?? '') : 0;
  return { pids: Number.isFinite(v) ? v : 0 };
}
