/**
 * The cgroup layout the daemon lives in: which version, which mounts, where its own
 * cgroup is (the root under which workspace cgroups are created). Pure over strings.
 */

import {
  type CgroupMount,
  type CgroupVersion,
  cgroupDir,
  detectVersion,
  parseCgroupMounts,
  parseProcCgroup,
} from './parse.js';
import { type Placement, V1_CONTROLLERS, type V1Controller } from './placement.js';

export interface Layout {
  version: CgroupVersion;
  mounts: CgroupMount[];
  /** The daemon's own cgroup (or the `root` override); null when there is none. */
  own: Placement | null;
}

function v1Mount(mounts: CgroupMount[], c: V1Controller): CgroupMount | undefined {
  return mounts.find((m) => m.fsType === 'cgroup' && m.controllers.includes(c));
}

/** v1 with a root override: `root` is the memory-hierarchy dir; the others mirror it. */
function v1FromRoot(mounts: CgroupMount[], root: string): Placement {
  const p: Placement = { version: 'v1', unified: null, v1: { memory: root } };
  const memory = v1Mount(mounts, 'memory');
  if (!memory || !(root === memory.mountPoint || root.startsWith(`${memory.mountPoint}/`))) {
    return p;
  }
  const rel = root.slice(memory.mountPoint.length);
  for (const c of V1_CONTROLLERS) {
    const m = v1Mount(mounts, c);
    if (m && c !== 'memory') p.v1[c] = `${m.mountPoint}${rel}`;
  }
  return p;
}

export function computeLayout(mountinfo: string, procSelfCgroup: string, root?: string): Layout {
  const mounts = parseCgroupMounts(mountinfo);
  const version = detectVersion(mounts);
  const proc = parseProcCgroup(procSelfCgroup);
  if (version === 'none') return { version, mounts, own: null };
  if (version === 'v2') {
    const unified = mounts.find((m) => m.fsType === 'cgroup2')!;
    const dir = root ?? cgroupDir(unified, proc.unified ?? '/');
    return { version, mounts, own: { version: 'v2', unified: dir, v1: {} } };
  }
  // v1 and hybrid: the controllers we use live on the v1 hierarchies.
  if (root !== undefined) return { version, mounts, own: v1FromRoot(mounts, root) };
  const own: Placement = { version: 'v1', unified: null, v1: {} };
  for (const c of V1_CONTROLLERS) {
    const m = v1Mount(mounts, c);
    if (m) own.v1[c] = cgroupDir(m, proc.byController.get(c) ?? '/');
  }
  return { version, mounts, own };
}

/** Rebuilds a placement from a handle's directories (e.g. after a daemon restart). */
export function placementFromDirs(layout: Layout, dirs: string[]): Placement {
  const isUnder = (dir: string, m: CgroupMount): boolean =>
    dir === m.mountPoint || dir.startsWith(`${m.mountPoint}/`);
  if (layout.version === 'v2') return { version: 'v2', unified: dirs[0] ?? null, v1: {} };
  const p: Placement = { version: 'v1', unified: null, v1: {} };
  for (const dir of dirs) {
    const m = layout.mounts.find((x) => x.fsType === 'cgroup' && isUnder(dir, x));
    for (const c of V1_CONTROLLERS) if (m?.controllers.includes(c)) p.v1[c] = dir;
  }
  if (dirs.length === 1 && Object.keys(p.v1).length === 0) p.v1.memory = dirs[0]!;
  return p;
}

/** The placement of `relPath` under the daemon's own cgroup. */
export function childPlacement(own: Placement, relPath: string): Placement {
  const join = (d: string): string => `${d}/${relPath}`;
  if (own.version === 'v2') return { version: 'v2', unified: join(own.unified!), v1: {} };
  const v1: Placement['v1'] = {};
  for (const [c, d] of Object.entries(own.v1) as [V1Controller, string][]) v1[c] = join(d);
  return { version: 'v1', unified: null, v1 };
}
