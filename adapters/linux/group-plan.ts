/**
 * How a group's edges are wired (pure). A plain edge is one kernel pipe straight from the
 * producer to the consumer (zero copies through the daemon). Everything else goes through
 * the native pump: fan-out (an output with several edges), fan-in (an input with several
 * edges), tapped edges, and every edge when a rate limit is set.
 */

import type { OutputName } from '../../core/manifest/types.js';
import type { GroupEdge, GroupTap } from '../../core/ports.js';

export interface OutputPlan {
  node: number;
  output: OutputName;
  /** Edge indices leaving this output. */
  edges: number[];
  /** Through the pump (false: the single edge is a plain pipe). */
  pumped: boolean;
  /** Edge indices leaving this output that are tapped. */
  taps: number[];
}

export interface GroupPlan {
  /** Per node: the edges into its stdin. */
  inputs: number[][];
  outputs: OutputPlan[];
}

export function validateGroup(nodeCount: number, edges: GroupEdge[], taps: GroupTap[]): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  edges.forEach((e, i) => {
    const inRange = (n: number): boolean => Number.isInteger(n) && n >= 0 && n < nodeCount;
    if (!inRange(e.from) || !inRange(e.to)) problems.push(`edges[${i}]: node index out of range`);
    if (e.fromOutput !== 'stdout' && e.fromOutput !== 'stderr') {
      problems.push(`edges[${i}].fromOutput: expected stdout or stderr`);
    }
    const id = `${e.from}.${e.fromOutput}>${e.to}`;
    if (seen.has(id)) problems.push(`edges[${i}]: duplicate edge`);
    seen.add(id);
  });
  taps.forEach((t, i) => {
    if (!Number.isInteger(t.edgeIndex) || t.edgeIndex < 0 || t.edgeIndex >= edges.length) {
      problems.push(`taps[${i}].edgeIndex: no such edge`);
    }
  });
  return problems;
}

export function planGroup(
  nodeCount: number,
  edges: GroupEdge[],
  taps: GroupTap[],
  rateLimited: boolean,
): GroupPlan {
  const inputs: number[][] = Array.from({ length: nodeCount }, () => []);
  const byOutput = new Map<string, OutputPlan>();
  const tapped = new Set(taps.map((t) => t.edgeIndex));
  edges.forEach((e, i) => {
    inputs[e.to]!.push(i);
    const id = `${e.from}.${e.fromOutput}`;
    let plan = byOutput.get(id);
    if (!plan) {
      plan = { node: e.from, output: e.fromOutput, edges: [], pumped: false, taps: [] };
      byOutput.set(id, plan);
    }
    plan.edges.push(i);
    if (tapped.has(i)) plan.taps.push(i);
  });
  for (const plan of byOutput.values()) {
    const only = plan.edges.length === 1 ? edges[plan.edges[0]!] : undefined;
    const plain =
      only !== undefined && inputs[only.to]!.length === 1 && plan.taps.length === 0 && !rateLimited;
    plan.pumped = !plain;
  }
  // An input fed by a pumped output is written only by pumps (so it may be nonblocking).
  const pumpedInputs = new Set<number>();
  for (const plan of byOutput.values()) {
    if (plan.pumped) for (const i of plan.edges) pumpedInputs.add(edges[i]!.to);
  }
  for (const plan of byOutput.values()) {
    if (!plan.pumped && pumpedInputs.has(edges[plan.edges[0]!]!.to)) plan.pumped = true;
  }
  return { inputs, outputs: [...byOutput.values()] };
}
