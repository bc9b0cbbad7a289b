/**
 * A workspace cgroup path must stay inside the daemon's own subtree: relative, no `..`,
 * no `.`, no empty segments, no NUL; and it must survive the adapter's bookkeeping: no
 * `:` (cgroup handles join v1 directories with it) and no control character (cgroup
 * files are read line by line). `''` means "no cgroup". The one rule: the Linux cgroup
 * adapter refuses exactly what this refuses (and the empty path, for which it makes none).
 */

import type { SpecIssue } from './types.js';

export const CGROUP_PATH_FIELD = 'soma.cgroup.path';

export function checkCgroupPath(path: string): SpecIssue | null {
  if (path === '') return null;
  const shown = JSON.stringify(path);
  const refuse = (why: string): SpecIssue => ({
    path: CGROUP_PATH_FIELD,
    message: `${why}, got ${shown}`,
  });
  if (path.includes('\0')) return refuse('must not contain a NUL character');
  if (path.includes(':')) return refuse("must not contain ':' (cgroup handles join paths with it)");
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are the point
  if (/[\u0001-\u001f\u007f]/.test(path)) {
    return refuse('must not contain a control character (cgroup files are read line by line)');
  }
  if (path.startsWith('/')) {
    return refuse("expected a path relative to the daemon's cgroup, not an absolute path");
  }
  const segments = path.split('/');
  if (segments.includes('..')) {
    return refuse("must not contain '..' segments (it would escape the daemon's subtree)");
  }
  if (segments.includes('.')) return refuse("must not contain '.' segments");
  if (segments.includes('')) return refuse('must not contain empty segments');
  return null;
}
