/**
 * Memory controller. v2: memory.max (4.5+), memory.swap.max when present (swap accounting
 * may be off: absent is fine), stats from memory.current, memory.peak (5.19+; absent →
 * current), memory.events oom_kill (4.13+). v1: memory.limit_in_bytes then
 * memory.memsw.limit_in_bytes (present only with swap accounting; must stay ≥ the limit,
 * so it is written second), stats from usage/max_usage and memory.oom_control oom_kill.
 */

import type { PortResult } from '../../../core/ports.js';
import { readText, writeText } from './fsio.js';
import { parseKeyValue, parseSingle } from './parse.js';
import type { Placement } from './placement.js';
import { limitFromText, limitToV1, limitToV2 } from './values.js';

export interface MemoryStat {
  memBytes: number;
  memPeakBytes: number;
  oomKills: number;
}

function current(p: Placement): string | null {
  return p.version === 'v2' ? p.unified : (p.v1.memory ?? null);
}

export function isSet(p: Placement, memBytes: number): boolean {
  const dir = current(p);
  if (!dir) return memBytes === 0;
  const file = p.version === 'v2' ? 'memory.max' : 'memory.limit_in_bytes';
  return limitFromText(readText(`${dir}/${file}`)) === memBytes;
}

export function set(p: Placement, memBytes: number): PortResult<true> {
  const dir = current(p);
  if (!dir) return { ok: true, value: true }; // no memory controller: accounted, not enforced
  if (p.version === 'v2') {
    const r = writeText('create', `${dir}/memory.max`, limitToV2(memBytes));
    if (!r.ok) return r;
    // No swapping past the limit; absent when swap accounting is off (expected).
    if (readText(`${dir}/memory.swap.max`) !== null && memBytes > 0) {
      return writeText('create', `${dir}/memory.swap.max`, '0');
    }
    return r;
  }
  const r = writeText('create', `${dir}/memory.limit_in_bytes`, limitToV1(memBytes));
  if (!r.ok) return r;
  if (readText(`${dir}/memory.memsw.limit_in_bytes`) !== null) {
    return writeText('create', `${dir}/memory.memsw.limit_in_bytes`, limitToV1(memBytes));
  }
  return r;
}

export function stat(p: Placement): MemoryStat {
  const dir = current(p);
  const none = { memBytes: 0, memPeakBytes: 0, oomKills: 0 };
  if (!dir) return none;
  const num = (file: string): number => {
    const v = parseSingle(readText(`${dir}/${file}`) ?? '');
    return Number.isFinite(v) ? v : 0;
  };
  if (p.version === 'v2') {
    const memBytes = num('memory.current');
    const peakText = readText(`${dir}/memory.peak`);
    const memPeakBytes = peakText === null ? memBytes : num('memory.peak');
    const events = parseKeyValue(readText(`${dir}/memory.events`) ?? '');
    return { memBytes, memPeakBytes, oomKills: events.get('oom_kill') ?? 0 };
  }
  const oom = parseKeyValue(readText(`${dir}/memory.oom_control`) ?? '');
  return {
    memBytes: num('memory.usage_in_bytes'),
    memPeakBytes: num('memory.max_usage_in_bytes'),
    oomKills: oom.get('oom_kill') ?? 0,
  };
}
