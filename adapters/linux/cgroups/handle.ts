/**
 * A cgroup handle (what `Cgroups.create` returns and `Envelope.cgroup` carries) is the
 * absolute directory of the cgroup: one directory on v2, one per controller hierarchy on
 * v1, joined with ':' (cgroup paths validated by the spec never contain ':').
 */

export function handleOf(dirs: string[]): string {
  return dirs.join(':');
}

export function dirsOf(handle: string): string[] {
  return handle.split(':').filter((d) => d.length > 0);
}

/**
 * Where a child joins: `cgroup.procs` exists on both versions and moves the whole
 * (single-threaded) child; on v1 each hierarchy has its own.
 */
export function cgroupProcsFiles(handle: string): string[] {
  return dirsOf(handle).map((d) => `${d}/cgroup.procs`);
}
