/** Where one cgroup lives: the v2 directory, or one directory per v1 controller. */

export type V1Controller = 'memory' | 'pids' | 'cpuacct' | 'freezer';

export const V1_CONTROLLERS: V1Controller[] = ['memory', 'pids', 'cpuacct', 'freezer'];

export interface Placement {
  version: 'v1' | 'v2';
  /** v2: the cgroup directory. */
  unified: string | null;
  /** v1: controller → directory in that controller's hierarchy. */
  v1: Partial<Record<V1Controller, string>>;
}

export function placementDirs(p: Placement): string[] {
  if (p.version === 'v2') return p.unified ? [p.unified] : [];
  return [...new Set(Object.values(p.v1))];
}
