/**
 * Graph checks on already well-typed nodes and edges: unique labels, indices in range,
 * no self-loops, no duplicate edges, no cycles. Fan-out and fan-in are fine.
 */

import type { PipelineEdge, PipelineNode, SpecIssue } from './types.js';

export function checkGraph(nodes: PipelineNode[], edges: PipelineEdge[]): SpecIssue[] {
  const issues: SpecIssue[] = [];
  checkLabels(nodes, issues);
  const lastIndex = nodes.length - 1;
  const seen = new Map<string, number>();
  edges.forEach((edge, index) => {
    const path = `edges[${index}]`;
    let inRange = true;
    for (const end of ['from', 'to'] as const) {
      if (edge[end] > lastIndex) {
        inRange = false;
        issues.push({
          path: `${path}.${end}`,
          message: `expected a node index in 0..${lastIndex}, got ${edge[end]} (number)`,
        });
      }
    }
    if (!inRange) return;
    if (edge.from === edge.to) {
      const label = nodes[edge.from]?.label ?? '';
      issues.push({
        path,
        message: `self-loop: from and to are both ${edge.from} (${JSON.stringify(label)})`,
      });
      return;
    }
    const key = `${edge.from}.${edge.fromOutput}->${edge.to}.${edge.toInput}`;
    const first = seen.get(key);
    if (first !== undefined) {
      issues.push({
        path,
        message:
          `duplicate of edges[${first}] ` +
          `(${edge.from} ${edge.fromOutput} -> ${edge.to} ${edge.toInput})`,
      });
      return;
    }
    seen.set(key, index);
  });
  if (issues.length === 0) {
    const cycle = findCycle(nodes.length, edges);
    if (cycle !== null) {
      const labels = cycle.nodes.map((index) => nodes[index]?.label ?? String(index));
      issues.push({
        path: `edges[${cycle.closingEdge}]`,
        message: `cycle: ${labels.join(' -> ')}`,
      });
    }
  }
  return issues;
}

function checkLabels(nodes: PipelineNode[], issues: SpecIssue[]): void {
  const firstByLabel = new Map<string, number>();
  nodes.forEach((node, index) => {
    const first = firstByLabel.get(node.label);
    if (first !== undefined) {
      issues.push({
        path: `nodes[${index}].label`,
        message: `duplicate label ${JSON.stringify(node.label)} (also nodes[${first}])`,
      });
      return;
    }
    firstByLabel.set(node.label, index);
  });
}

export interface Cycle {
  /** Node indices, the first repeated last (`[0, 1, 0]`). */
  nodes: number[];
  /** Index of the edge that closes it. */
  closingEdge: number;
}

/** The first cycle a depth-first walk meets, or null. Iterative, so deep graphs are fine. */
export function findCycle(nodeCount: number, edges: PipelineEdge[]): Cycle | null {
  const next: { to: number; edgeIndex: number }[][] = Array.from({ length: nodeCount }, () => []);
  edges.forEach((edge, edgeIndex) => {
    next[edge.from]?.push({ to: edge.to, edgeIndex });
  });
  const WHITE = 0;
  const GREY = 1;
  const BLACK = 2;
  const color = new Array<number>(nodeCount).fill(WHITE);
  for (let start = 0; start < nodeCount; start++) {
    if (color[start] !== WHITE) continue;
    const stack: { node: number; child: number }[] = [{ node: start, child: 0 }];
    color[start] = GREY;
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const children = next[top.node]!;
      if (top.child >= children.length) {
        color[top.node] = BLACK;
        stack.pop();
        continue;
      }
      const { to: child, edgeIndex } = children[top.child]!;
      top.child++;
      if (color[child] === GREY) {
        const from = stack.findIndex((frame) => frame.node === child);
        const cycleNodes = [...stack.slice(from).map((frame) => frame.node), child];
        return { nodes: cycleNodes, closingEdge: edgeIndex };
      }
      if (color[child] === WHITE) {
        color[child] = GREY;
        stack.push({ node: child, child: 0 });
      }
    }
  }
  return null;
}
