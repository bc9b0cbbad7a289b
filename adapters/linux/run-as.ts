/**
 * `user`/`group` of a ProcRequest → the ids the child drops to (setgroups(0), setgid,
 * setuid in the child, native/src/spawn.cc). Only a root daemon may change ids; names go
 * through getpwnam_r/getgrnam_r (NSS), a decimal string is taken as an id.
 */

import type { PortError, PortReason, PortResult, ProcRequest } from '../../core/ports.js';
import { isSysError, type NativeAddon } from './addon.js';

function refuse(method: string, reason: PortReason, message: string): PortResult<never> {
  const error: PortError = { _tag: 'PortError', port: 'Kernel', method, reason, message };
  return { ok: false, error };
}

const numericId = (name: string): number | null =>
  /^\d+$/.test(name) && Number(name) < 2 ** 32 - 1 ? Number(name) : null;

export function resolveRunAs(
  native: Pick<NativeAddon, 'lookupUser' | 'lookupGroup'>,
  req: Pick<ProcRequest, 'user' | 'group'>,
  daemonUid: number,
  method: string,
): PortResult<{ uid?: number; gid?: number }> {
  const { user, group } = req;
  if (user === undefined && group === undefined) return { ok: true, value: {} };
  if (daemonUid !== 0) {
    const field = user !== undefined ? `user "${user}"` : `group "${group}"`;
    return refuse(
      method,
      'PermissionDenied',
      `${field}: expected the daemon to run as root to change ids, it runs as uid ${daemonUid}`,
    );
  }
  const out: { uid?: number; gid?: number } = {};
  if (user !== undefined) {
    const id = numericId(user);
    const found = id === null ? native.lookupUser(user) : { uid: id, gid: id };
    if (isSysError(found)) {
      return refuse(method, 'Unknown', `user "${user}": getpwnam_r failed (errno ${found.errno})`);
    }
    if (found === null) {
      return refuse(method, 'NotFound', `user "${user}": expected an existing user, found none`);
    }
    out.uid = found.uid;
    // The user's primary group unless one is named (a bare uid: the gid of the same number,
    // never the daemon's root group).
    out.gid = found.gid;
  }
  if (group !== undefined) {
    const id = numericId(group);
    const found = id === null ? native.lookupGroup(group) : id;
    if (isSysError(found)) {
      return refuse(
        method,
        'Unknown',
        `group "${group}": getgrnam_r failed (errno ${found.errno})`,
      );
    }
    if (found === null) {
      return refuse(method, 'NotFound', `group "${group}": expected an existing group, found none`);
    }
    out.gid = found;
  }
  return { ok: true, value: out };
}
