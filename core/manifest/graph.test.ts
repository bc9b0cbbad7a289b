import { checkGraph, findCycle } from './graph.js';
import type { PipelineEdge, PipelineNode } from './types.js';

const e = (from: number, to: number): PipelineEdge => ({
  from,
  fromOutput: 'stdout',
  to,
  toInput: 'stdin',
});
const nodes = (n: number): PipelineNode[] =>
  Array.from({ length: n }, (_, i) => ({
    label: `n${i}`,
    payload: { exec: '/bin/cat', argv: [], envp: [] },
  }));

describe('findCycle', () => {
  it.each<[string, number, PipelineEdge[], number[] | null, number | null]>([
    ['no edges', 3, [], null, null],
    ['a diamond (fan-out then fan-in)', 4, [e(0, 1), e(0, 2), e(1, 3), e(2, 3)], null, null],
    ['a two-node loop', 2, [e(0, 1), e(1, 0)], [0, 1, 0], 1],
    ['a loop behind a tail', 4, [e(0, 1), e(1, 2), e(2, 3), e(3, 1)], [1, 2, 3, 1], 3],
  ])('on %s finds %p', (_name, n, edges, cycle, closingEdge) => {
    const found = findCycle(n, edges);
    expect(found === null ? null : found.nodes).toEqual(cycle);
    expect(found === null ? null : found.closingEdge).toBe(closingEdge);
  });

  it('walks a 100000-node chain without running out of stack', () => {
    const n = 100_000;
    const chain = Array.from({ length: n - 1 }, (_, i) => e(i, i + 1));
    expect(findCycle(n, chain)).toBeNull();
    expect(findCycle(n, [...chain, e(n - 1, 0)])?.nodes).toHaveLength(n + 1);
  });
});

describe('checkGraph', () => {
  it('reports out-of-range ends before looking for cycles', () => {
    expect(checkGraph(nodes(2), [e(0, 2), e(2, 0)]).map((i) => i.path)).toEqual([
      'edges[0].to',
      'edges[1].from',
    ]);
  });

  it('allows the same producer output to feed several consumers', () => {
    expect(checkGraph(nodes(3), [e(0, 1), e(0, 2)])).toEqual([]);
  });
});
