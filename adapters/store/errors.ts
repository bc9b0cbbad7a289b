/** errno → PortError for the file adapters (one error shape for every port). */

import { reasonForErrnoName } from '../../core/errno.js';
import type { PortError, PortName, PortReason } from '../../core/ports.js';

interface NodeErrnoLike {
  code?: string;
  errno?: number;
  syscall?: string;
  path?: string;
  message?: string;
}

export function toPortError(port: PortName, method: string, cause: unknown): PortError {
  const e = (cause ?? {}) as NodeErrnoLike;
  const reason: PortReason = reasonForErrnoName(e.code);
  const error: PortError = {
    _tag: 'PortError',
    port,
    method,
    reason,
    message: e.message ?? String(cause),
  };
  if (typeof e.errno === 'number') error.errno = Math.abs(e.errno);
  if (e.syscall) error.syscall = e.syscall;
  if (e.path) error.path = e.path;
  return error;
}
