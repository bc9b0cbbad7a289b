/** errno → PortError for the file adapters (one error shape for every port). */

import type { PortError, PortName, PortReason } from '../../core/ports.js';

const reasonByCode: Record<string, PortReason> = {
  ENOENT: 'NotFound',
  ESRCH: 'NotFound',
  EACCES: 'PermissionDenied',
  EPERM: 'PermissionDenied',
  EROFS: 'PermissionDenied',
  EBUSY: 'Busy',
  EAGAIN: 'Busy',
  EEXIST: 'Exists',
  EINVAL: 'InvalidArgument',
  EISDIR: 'InvalidArgument',
  ENOTDIR: 'InvalidArgument',
  ENOMEM: 'LimitExceeded',
  EMFILE: 'LimitExceeded',
  ENFILE: 'LimitExceeded',
  ENOSPC: 'LimitExceeded',
  EDQUOT: 'LimitExceeded',
  ENOSYS: 'Unsupported',
  ENOTSUP: 'Unsupported',
  EOPNOTSUPP: 'Unsupported',
};

interface NodeErrnoLike {
  code?: string;
  errno?: number;
  syscall?: string;
  path?: string;
  message?: string;
}

export function toPortError(port: PortName, method: string, cause: unknown): PortError {
  const e = (cause ?? {}) as NodeErrnoLike;
  const reason: PortReason = (e.code && reasonByCode[e.code]) || 'Unknown';
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
