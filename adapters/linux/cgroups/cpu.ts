/** CPU accounting: v2 cpu.stat usage_usec (always present), v1 cpuacct.usage (ns). */

import { readText } from './fsio.js';
import { parseKeyValue, parseSingle } from './parse.js';
import type { Placement } from './placement.js';

export function stat(p: Placement): { cpuUs: number } {
  if (p.version === 'v2') {
    const kv = parseKeyValue(p.unified ? (readText(`${p.unified}/cpu.stat`) ?? '') : '');
    return { cpuUs: kv.get('usage_usec') ?? 0 };
  }
  const dir = p.v1.cpuacct;
  const ns = dir ? parseSingle(readText(`${dir}/cpuacct.usage`) ?? '') : 0;
  return { cpuUs: Number.isFinite(ns) ? Math.floor(ns / 1000) : 0 };
}
