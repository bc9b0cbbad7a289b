/**
 * Parsers for cgroup-related kernel files. They take strings, never paths (STYLE
 * adapters/6), so they are tested on real dumps.
 */

export interface CgroupMount {
  /** 'cgroup2', or 'cgroup' for a v1 hierarchy. */
  fsType: 'cgroup' | 'cgroup2';
  mountPoint: string;
  /** The cgroup that is the root of this mount (field 4 of mountinfo). */
  root: string;
  /** v1: the controllers of the hierarchy (`memory`, `cpu`, `name=systemd`…); v2: []. */
  controllers: string[];
}

/** Undoes the octal escapes of mountinfo (`\040` for a space). */
function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, oct: string) =>
    String.fromCharCode(Number.parseInt(oct, 8)),
  );
}

/** Super options of a v1 mount that are not controllers. */
const NOT_CONTROLLERS = new Set([
  'rw',
  'ro',
  'noprefix',
  'xattr',
  'clone_children',
  'cpuset_v2_mode',
]);

function isControllerOption(option: string): boolean {
  if (option.startsWith('name=')) return true;
  return option.length > 0 && !option.includes('=') && !NOT_CONTROLLERS.has(option);
}

/** Parses /proc/self/mountinfo; returns the cgroup and cgroup2 mounts in order. */
export function parseCgroupMounts(mountinfo: string): CgroupMount[] {
  const mounts: CgroupMount[] = [];
  for (const line of mountinfo.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(' ');
    const right = line.slice(sep + 3).split(' ');
    const fsType = right[0];
    if (fsType !== 'cgroup' && fsType !== 'cgroup2') continue;
    const superOptions = (right[2] ?? '').split(',');
    const controllers = fsType === 'cgroup' ? superOptions.filter(isControllerOption) : [];
    mounts.push({
      fsType,
      mountPoint: unescapeMount(left[4] ?? ''),
      root: unescapeMount(left[3] ?? '/'),
      controllers,
    });
  }
  return mounts;
}

export type CgroupVersion = 'v1' | 'v2' | 'hybrid' | 'none';

/**
 * v2: only a unified hierarchy; v1: only controller hierarchies; hybrid: both (the
 * unified one then usually holds no controllers, as on this host where it has hugetlb).
 */
export function detectVersion(mounts: CgroupMount[]): CgroupVersion {
  const v1 = mounts.some(
    (m) => m.fsType === 'cgroup' && m.controllers.some((c) => !c.startsWith('name=')),
  );
  const v2 = mounts.some((m) => m.fsType === 'cgroup2');
  if (v1 && v2) return 'hybrid';
  if (v1) return 'v1';
  if (v2) return 'v2';
  return 'none';
}

export interface ProcCgroups {
  /** The `0::/path` entry, when present. */
  unified: string | null;
  /** Controller → path, for v1 hierarchies (`name=systemd` included). */
  byController: Map<string, string>;
}

/** Parses /proc/self/cgroup (`hierarchy-id:controllers:path` lines). */
export function parseProcCgroup(text: string): ProcCgroups {
  const out: ProcCgroups = { unified: null, byController: new Map() };
  for (const line of text.split('\n')) {
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    if (first < 0 || second < 0) continue;
    const id = line.slice(0, first);
    const controllers = line.slice(first + 1, second);
    const path = line.slice(second + 1);
    if (id === '0' && controllers === '') {
      out.unified = path;
      continue;
    }
    for (const c of controllers.split(',')) if (c) out.byController.set(c, path);
  }
  return out;
}

/** `key value` lines (memory.events, cpu.stat, memory.stat…). Non-numeric values skipped. */
export function parseKeyValue(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [key, value] = line.trim().split(/\s+/);
    if (key && value !== undefined && /^-?\d+$/.test(value)) out.set(key, Number(value));
  }
  return out;
}

/** A single-value file: an integer, or `max` (→ Infinity). NaN when unreadable. */
export function parseSingle(text: string): number {
  const t = text.trim();
  if (t === 'max') return Number.POSITIVE_INFINITY;
  return /^-?\d+$/.test(t) ? Number(t) : Number.NaN;
}

/** Space-separated controller names (cgroup.controllers, cgroup.subtree_control). */
export function parseControllers(text: string): string[] {
  return text.split(/\s+/).filter((s) => s.length > 0);
}

/** Joins a mount point and a cgroup path, relative to the mount's own root. */
export function cgroupDir(mount: CgroupMount, path: string): string {
  let rel = path;
  if (mount.root !== '/' && (rel === mount.root || rel.startsWith(`${mount.root}/`))) {
    rel = rel.slice(mount.root.length);
  }
  const joined = `${mount.mountPoint}/${rel.replace(/^\/+/, '')}`;
  return joined.replace(/\/+$/, '') || '/';
}
