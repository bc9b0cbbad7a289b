/**
 * File access for the cgroup adapter. Every write error is wrapped with the file and the
 * data written (STYLE adapters/5). Node opens files with O_CLOEXEC.
 */

import { readFileSync, writeFileSync } from 'node:fs';
import type { PortError, PortResult } from '../../../core/ports.js';
import { nodePortError } from '../errors.js';

export function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

export function writeText(method: string, path: string, data: string): PortResult<true> {
  try {
    // One write(2) per value: cgroupfs parses each write on its own.
    writeFileSync(path, data, { flag: 'w' });
    return { ok: true, value: true };
  } catch (cause) {
    const ctx = {
      port: 'Cgroups' as const,
      method,
      what: `write ${JSON.stringify(data)} to ${path}`,
      path,
    };
    return { ok: false, error: nodePortError(ctx, cause) };
  }
}

export function cgroupError(
  method: string,
  what: string,
  cause: unknown,
  path?: string,
): PortError {
  const ctx =
    path === undefined
      ? { port: 'Cgroups' as const, method, what }
      : { port: 'Cgroups' as const, method, what, path };
  return nodePortError(ctx, cause);
}
