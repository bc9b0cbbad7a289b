import type { GroupEdge, GroupTap } from '../../core/ports.js';
import { planGroup, validateGroup } from './group-plan.js';

const e = (from: number, to: number, fromOutput: 'stdout' | 'stderr' = 'stdout'): GroupEdge => ({
  from,
  fromOutput,
  to,
});
const tap = (edgeIndex: number): GroupTap => ({
  edgeIndex,
  sampleBytes: 1,
  replayChunks: 1,
  replayBytes: 0,
});

describe('planGroup', () => {
  it('wires a single edge between single ends as a plain pipe', () => {
    const plan = planGroup(2, [e(0, 1)], [], false);
    expect(plan.outputs).toEqual([
      { node: 0, output: 'stdout', edges: [0], pumped: false, taps: [] },
    ]);
    expect(plan.inputs).toEqual([[], [0]]);
  });

  it.each([
    ['fan-out', 3, [e(0, 1), e(0, 2)], [], false],
    ['fan-in', 3, [e(0, 2), e(1, 2)], [], false],
    ['a tapped edge', 2, [e(0, 1)], [tap(0)], false],
    ['a rate limit', 2, [e(0, 1)], [], true],
  ])('pumps every output of %s', (_, n, edges, taps, rate) => {
    const plan = planGroup(n, edges, taps, rate);
    expect(plan.outputs.every((o) => o.pumped)).toBe(true);
  });

  it('pumps a single edge into an input that a pump also feeds', () => {
    // 0 → 2 is single-ended on its output, but 2 is also fed by the fan-out of 1.
    const plan = planGroup(4, [e(0, 2), e(1, 2), e(1, 3)], [], false);
    expect(plan.outputs.find((o) => o.node === 0)?.pumped).toBe(true);
  });

  it('keeps stdout and stderr of one node apart', () => {
    const plan = planGroup(3, [e(0, 1), e(0, 2, 'stderr')], [], false);
    expect(plan.outputs.map((o) => [o.output, o.pumped])).toEqual([
      ['stdout', false],
      ['stderr', false],
    ]);
  });
});

describe('validateGroup', () => {
  it('accepts a well-formed graph', () => {
    expect(validateGroup(2, [e(0, 1)], [tap(0)])).toEqual([]);
  });

  it('names every problem with its path', () => {
    expect(validateGroup(2, [e(0, 2), e(0, 2)], [tap(4)])).toEqual([
      'edges[0]: node index out of range',
      'edges[1]: node index out of range',
      'edges[1]: duplicate edge',
      'taps[0].edgeIndex: no such edge',
    ]);
  });
});
