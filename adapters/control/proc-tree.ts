/**
 * The process tree under a pid, read from /proc (children files of every task), for
 * `shipote status`. A pid that went away reads as an empty tree: that is expected.
 */

import { readdirSync, readFileSync } from 'node:fs';
import { parseChildren, parsePidStat, parsePidStatus } from '../linux/proc-stats.js';

export interface ProcNode {
  pid: number;
  /** The command name the kernel shows (`comm`, at most 15 bytes). */
  comm: string;
  state: string;
  rssBytes: number;
  children: ProcNode[];
}

/** Guards against a pid reused into a loop while walking. */
const treeNodesMax = 512;

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'latin1');
  } catch {
    return null;
  }
}

function childPids(pid: number): number[] {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  return tids.flatMap((tid) => parseChildren(readText(`/proc/${pid}/task/${tid}/children`) ?? ''));
}

function commOf(statText: string): string {
  return statText.slice(statText.indexOf('(') + 1, statText.lastIndexOf(')'));
}

/** The tree rooted at `pid`, or null when that process is gone. */
export function procTree(pid: number, seen = new Set<number>()): ProcNode | null {
  if (seen.has(pid) || seen.size >= treeNodesMax) return null;
  seen.add(pid);
  const statText = readText(`/proc/${pid}/stat`);
  const stat = statText ? parsePidStat(statText) : null;
  if (!statText || !stat) return null;
  const status = readText(`/proc/${pid}/status`);
  const children: ProcNode[] = [];
  for (const child of childPids(pid)) {
    const node = procTree(child, seen);
    if (node) children.push(node);
  }
  return {
    pid,
    comm: commOf(statText),
    state: stat.state,
    rssBytes: status ? parsePidStatus(status).rssBytes : 0,
    children,
  };
}
