import fc from 'fast-check';
import { pipelinePolicies } from './defaults.js';
import { nodeLogRotation, validatePipelineSpec } from './pipeline.js';

const native = (exec: string) => ({ Native: { exec, argv: [], envp: [] } });

function pipeline(nodeCount: number, edges: unknown[], extra: Record<string, unknown> = {}) {
  const nodes = Array.from({ length: nodeCount }, (_, i) => ({
    label: `n${i}`,
    payload: native('/bin/cat'),
  }));
  return { label: 'p', workspace: 'ws', nodes, edges, ...extra };
}

const edge = (from: number, to: number, from_output = 'stdout') => ({
  from,
  from_output,
  to,
  to_input: 'stdin',
});

function messages(raw: unknown): string[] {
  const result = validatePipelineSpec(raw);
  return result.ok ? [] : result.issues.map((i) => `${i.path}: ${i.message}`);
}

const REFUSALS: [string, unknown, string[]][] = [
  [
    'a node that is not a table',
    { ...pipeline(1, []), nodes: ['cat'] },
    ['nodes[0]: expected a table, got "cat" (string)'],
  ],
  [
    'a payload that is not a table',
    { ...pipeline(1, []), nodes: [{ label: 'a', payload: '/bin/cat' }] },
    ['nodes[0].payload: expected a table, got "/bin/cat" (string)'],
  ],
  [
    'an empty payload',
    { ...pipeline(1, []), nodes: [{ label: 'a', payload: {} }] },
    ['nodes[0].payload.Native: missing; expected { exec, argv, envp }'],
  ],
  [
    'a node without a payload',
    { ...pipeline(1, []), nodes: [{ label: 'a' }] },
    ['nodes[0].payload: missing; expected a table with a Native entry'],
  ],
  ['an edge that is not a table', pipeline(2, [7]), ['edges[0]: expected a table, got 7 (number)']],
  [
    'no nodes key',
    { label: 'p', workspace: 'w' },
    ['nodes: missing; expected at least one [[nodes]] table'],
  ],
  ['an empty node list', pipeline(0, []), ['nodes: expected at least one node, got none']],
  [
    'an edge index out of range',
    pipeline(2, [edge(0, 5)]),
    ['edges[0].to: expected a node index in 0..1, got 5 (number)'],
  ],
  [
    'a negative edge index',
    pipeline(2, [edge(-1, 1)]),
    ['edges[0].from: expected a non-negative safe integer, got -1 (number)'],
  ],
  [
    'a self-loop',
    pipeline(2, [edge(1, 1)]),
    ['edges[0]: self-loop: from and to are both 1 ("n1")'],
  ],
  [
    'a duplicate edge',
    pipeline(2, [edge(0, 1), edge(0, 1)]),
    ['edges[1]: duplicate of edges[0] (0 stdout -> 1 stdin)'],
  ],
  ['a two-node cycle', pipeline(2, [edge(0, 1), edge(1, 0)]), ['edges[1]: cycle: n0 -> n1 -> n0']],
  [
    'a longer cycle behind a tail',
    pipeline(4, [edge(0, 1), edge(1, 2), edge(2, 3), edge(3, 1)]),
    ['edges[3]: cycle: n1 -> n2 -> n3 -> n1'],
  ],
  [
    'a duplicate label',
    {
      ...pipeline(2, []),
      nodes: [
        { label: 'a', payload: native('/x') },
        { label: 'a', payload: native('/y') },
      ],
    },
    ['nodes[1].label: duplicate label "a" (also nodes[0])'],
  ],
  [
    'a bad exec',
    { ...pipeline(1, []), nodes: [{ label: 'a', payload: native(42 as unknown as string) }] },
    ['nodes[0].payload.Native.exec: expected a non-empty string, got 42 (number)'],
  ],
  [
    'an unknown payload kind',
    { ...pipeline(1, []), nodes: [{ label: 'a', payload: { Wasm: {} } }] },
    ['nodes[0].payload.Wasm: unknown key; expected one of Native'],
  ],
  [
    'an argv that is not strings',
    {
      ...pipeline(1, []),
      nodes: [{ label: 'a', payload: { Native: { exec: '/x', argv: ['ok', 3] } } }],
    },
    ['nodes[0].payload.Native.argv[1]: expected a string, got 3 (number)'],
  ],
  [
    'an envp entry without =',
    {
      ...pipeline(1, []),
      nodes: [{ label: 'a', payload: { Native: { exec: '/x', envp: ['PATH'] } } }],
    },
    ['nodes[0].payload.Native.envp[0]: expected a KEY=value string, got "PATH" (string)'],
  ],
  [
    'an unknown discern key',
    pipeline(1, [], { discern: { sample: 1 } }),
    [
      'discern.sample: unknown key; expected one of sample_bytes, enrich_producer, ' +
        'replay_chunks, replay_bytes, max_bytes_per_sec',
    ],
  ],
  [
    'an initial backoff above the cap',
    pipeline(1, [], { restart_backoff_ms: 5000, restart_max_backoff_ms: 1000 }),
    ['restart_backoff_ms: expected at most restart_max_backoff_ms (1000), got 5000'],
  ],
  [
    'to_input other than stdin',
    pipeline(2, [{ from: 0, to: 1, to_input: 'fd3' }]),
    ['edges[0].to_input: expected one of stdin, got "fd3" (string)'],
  ],
  [
    'edges that are not an array',
    pipeline(2, {} as unknown as unknown[]),
    ['edges: expected an array of [[edges]] tables, got a table'],
  ],
];

describe('validatePipelineSpec', () => {
  it('accepts fan-out and fan-in', () => {
    const raw = pipeline(4, [edge(0, 1), edge(0, 2), edge(1, 3), edge(2, 3), edge(0, 3, 'stderr')]);
    expect(messages(raw)).toEqual([]);
  });

  it('reads the supervision keys', () => {
    const raw = pipeline(1, [], {
      restart_on_failure: true,
      restart_backoff_ms: 50,
      restart_max_backoff_ms: 800,
      restart_max: 4,
      restart_reset_ms: 2000,
      crash_loop_max: 5,
      crash_loop_window_ms: 60000,
    });
    const result = validatePipelineSpec(raw);
    expect(result.ok && [result.value.restart, result.value.crashLoop]).toEqual([
      {
        restartOnFailure: true,
        backoffMsInitial: 50,
        backoffMsMax: 800,
        restartMax: 4,
        resetAfterMs: 2000,
      },
      { deathsMax: 5, windowMs: 60000 },
    ]);
  });

  it('fills the policy tables the shared defaults builder gives when the TOML sets none', () => {
    const result = validatePipelineSpec(pipeline(2, [edge(0, 1)]));
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const { discern, restart, crashLoop } = result.value;
    expect({ discern, restart, crashLoop }).toEqual(pipelinePolicies());
  });

  it('defaults from_output to stdout and to_input to stdin', () => {
    const result = validatePipelineSpec(pipeline(2, [{ from: 0, to: 1 }]));
    expect(result.ok && result.value.edges).toEqual([
      { from: 0, fromOutput: 'stdout', to: 1, toInput: 'stdin' },
    ]);
  });

  it.each(REFUSALS)('refuses %s with an exact message', (_what, raw, want) => {
    expect(messages(raw)).toEqual(want);
  });

  it("reads pipeline-wide and per-node logs; a node's own fields win, 0 inherits", () => {
    const raw = pipeline(3, [edge(0, 1), edge(1, 2)], { logs: { max_bytes: 65536, keep: 4 } });
    raw.nodes[1] = { ...raw.nodes[1]!, logs: { keep: 9 } } as (typeof raw.nodes)[number];
    raw.nodes[2] = { ...raw.nodes[2]!, logs: { max_bytes: 8192, keep: 2 } } as never;
    const result = validatePipelineSpec(raw);
    if (!result.ok) throw new Error(JSON.stringify(result.issues));
    expect(result.value.logs).toEqual({ maxBytes: 65536, keep: 4 });
    expect([0, 1, 2].map((i) => nodeLogRotation(result.value, i))).toEqual([
      { maxBytes: 65536, keep: 4 },
      { maxBytes: 65536, keep: 9 },
      { maxBytes: 8192, keep: 2 },
    ]);
    const none = validatePipelineSpec(pipeline(1, [], { logs: { max_bytes: 0 } }));
    expect(none.ok && [none.value.logs, nodeLogRotation(none.value, 0)]).toEqual([
      undefined,
      undefined,
    ]);
  });

  it('refuses log rotation out of range, naming the field, the value and the range', () => {
    const raw = pipeline(1, [], { logs: { max_bytes: 1, keep: 1000 } });
    expect(messages(raw)).toEqual([
      "logs.max_bytes: expected 0 (the daemon's default) or 4096 to 1099511627776, got 1",
      "logs.keep: expected 0 (the daemon's default) or 1 to 100, got 1000",
    ]);
    const node = pipeline(1, []);
    node.nodes[0] = { ...node.nodes[0]!, logs: { keep: -1 } } as never;
    expect(messages(node)).toEqual([
      'nodes[0].logs.keep: expected a non-negative safe integer, got -1 (number)',
    ]);
  });
});

describe('validatePipelineSpec on random input', () => {
  it('never throws on arbitrary JSON-like values', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (raw) => {
        const result = validatePipelineSpec(raw);
        expect(result.ok || result.issues.length > 0).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('accepts exactly the random graphs that are acyclic, in range and without repeats', () => {
    const edges = fc.array(fc.record({ from: fc.nat(5), to: fc.nat(5) }), { maxLength: 8 });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), edges, (n, es) => {
        const result = validatePipelineSpec(
          pipeline(
            n,
            es.map((e) => edge(e.from, e.to)),
          ),
        );
        const inRange = es.every((e) => e.from < n && e.to < n);
        const keys = es.map((e) => `${e.from}-${e.to}`);
        const unique = new Set(keys).size === keys.length;
        // Model: repeatedly strip nodes with no incoming edge (Kahn).
        let left = es.filter((e) => e.from !== e.to);
        let nodes = new Set(Array.from({ length: n }, (_, i) => i));
        for (let changed = true; changed; ) {
          const sources = [...nodes].filter((v) => !left.some((e) => e.to === v));
          changed = sources.length > 0;
          nodes = new Set([...nodes].filter((v) => !sources.includes(v)));
          left = left.filter((e) => nodes.has(e.from));
        }
        const noSelf = es.every((e) => e.from !== e.to);
        expect(result.ok).toBe(inRange && unique && noSelf && nodes.size === 0);
      }),
      { numRuns: 500 },
    );
  });
});
