/** errno → PortReason in one place, and the one PortError shape of the Linux adapter. */

import { constants } from 'node:os';
import { reasonForErrnoName } from '../../core/errno.js';
import type { PortError, PortName, PortReason } from '../../core/ports.js';
import type { SysError } from './addon.js';

const nameByErrno = new Map<number, string>(
  Object.entries(constants.errno).map(([name, value]) => [value, name]),
);

export function errnoName(errno: number): string {
  return nameByErrno.get(errno) ?? `E${errno}`;
}

export function reasonOf(errno: number): PortReason {
  return reasonForErrnoName(errnoName(errno));
}

/** Short description of an errno, like strerror. */
const descriptions: Record<string, string> = {
  ENOENT: 'No such file or directory',
  EACCES: 'Permission denied',
  EPERM: 'Operation not permitted',
  ESRCH: 'No such process',
  EBUSY: 'Device or resource busy',
  EAGAIN: 'Resource temporarily unavailable',
  EEXIST: 'File exists',
  EINVAL: 'Invalid argument',
  ENOEXEC: 'Exec format error',
  E2BIG: 'Argument list too long',
  ENOMEM: 'Cannot allocate memory',
  EMFILE: 'Too many open files',
  ENOSPC: 'No space left on device',
  ENOSYS: 'Function not implemented',
  ENOTDIR: 'Not a directory',
  ENOTEMPTY: 'Directory not empty',
  EISDIR: 'Is a directory',
  ETXTBSY: 'Text file busy',
};

export function describeErrno(errno: number): string {
  const name = errnoName(errno);
  return descriptions[name] ?? name;
}

export interface ErrorContext {
  port: PortName;
  method: string;
  /** What was attempted, e.g. `exec /nope`; the message is `${what}: ${strerror}`. */
  what: string;
  path?: string;
}

export function sysPortError(ctx: ErrorContext, e: SysError): PortError {
  const error: PortError = {
    _tag: 'PortError',
    port: ctx.port,
    method: ctx.method,
    reason: reasonOf(e.errno),
    message: `${ctx.what}: ${describeErrno(e.errno)} (${e.syscall})`,
    errno: e.errno,
    syscall: e.syscall,
  };
  if (ctx.path !== undefined) error.path = ctx.path;
  return error;
}

interface NodeErrnoLike {
  errno?: number;
  code?: string;
  syscall?: string;
  path?: string;
  message?: string;
}

/** A Node fs/net error (negative errno, `code`) in the same shape. */
export function nodePortError(ctx: ErrorContext, cause: unknown): PortError {
  const e = (cause ?? {}) as NodeErrnoLike;
  const errno = typeof e.errno === 'number' ? Math.abs(e.errno) : undefined;
  const reason = reasonForErrnoName(e.code);
  const error: PortError = {
    _tag: 'PortError',
    port: ctx.port,
    method: ctx.method,
    reason,
    message: `${ctx.what}: ${e.message ?? String(cause)}`,
  };
  if (errno !== undefined) error.errno = errno;
  if (e.syscall) error.syscall = e.syscall;
  const path = ctx.path ?? e.path;
  if (path !== undefined) error.path = path;
  return error;
}
