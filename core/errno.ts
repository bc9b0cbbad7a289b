/**
 * errno name → PortReason, in one place for every adapter (ports.ts: one error shape).
 * Pure: adapters translate numbers to names with their platform's table first.
 */

import type { PortReason } from './ports.js';

const reasonByName: Readonly<Record<string, PortReason>> = {
  ENOENT: 'NotFound',
  ESRCH: 'NotFound',
  ENOTDIR: 'NotFound',
  EACCES: 'PermissionDenied',
  EPERM: 'PermissionDenied',
  EROFS: 'PermissionDenied',
  EBUSY: 'Busy',
  EAGAIN: 'Busy',
  ETXTBSY: 'Busy',
  EEXIST: 'Exists',
  ENOTEMPTY: 'Busy',
  EINVAL: 'InvalidArgument',
  E2BIG: 'InvalidArgument',
  ENOEXEC: 'InvalidArgument',
  EISDIR: 'InvalidArgument',
  ENAMETOOLONG: 'InvalidArgument',
  ENOMEM: 'LimitExceeded',
  EMFILE: 'LimitExceeded',
  ENFILE: 'LimitExceeded',
  ENOSPC: 'LimitExceeded',
  EDQUOT: 'LimitExceeded',
  ENOSYS: 'Unsupported',
  ENOTSUP: 'Unsupported',
  EOPNOTSUPP: 'Unsupported',
};

/** `ENOENT` → `NotFound`; an unknown or missing name → `Unknown`. */
export function reasonForErrnoName(name: string | undefined): PortReason {
  return (name !== undefined && reasonByName[name]) || 'Unknown';
}
