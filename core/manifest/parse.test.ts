// biome-ignore-all lint/suspicious/noTemplateCurlyInString: placeholders are under test
import fc from 'fast-check';
import {
  SPEC_PIPELINE_TOML,
  SPEC_WORKSPACE_TOML,
  SPEC_WORKSPACE_VALUE,
} from '../../testing/fixtures/manifest.js';
import { parsePipelineToml, parseWorkspaceToml } from './parse.js';
import type { SpecResult } from './types.js';

function issuesOf<T>(result: SpecResult<T>) {
  if (result.ok) throw new Error(`expected issues, got ${JSON.stringify(result.value)}`);
  return result.issues;
}

describe('parseWorkspaceToml', () => {
  it('parses the the contract workspace example as written', () => {
    expect(parseWorkspaceToml(SPEC_WORKSPACE_TOML)).toEqual({
      ok: true,
      value: SPEC_WORKSPACE_VALUE,
    });
  });

  it('turns a TOML syntax error into a (toml) issue with its line instead of throwing', () => {
    const issues = issuesOf(parseWorkspaceToml('label = "a"\nttl = = 3\n'));
    expect(issues).toHaveLength(1);
    expect(issues[0]?.path).toBe('(toml)');
    expect(issues[0]?.line).toBe(2);
    expect(issues[0]?.message).not.toMatch(/Invalid TOML document/);
  });

  it('points an issue at the line of the offending key', () => {
    const text = SPEC_WORKSPACE_TOML.replace('nofile = 64', 'nofile = -1');
    expect(issuesOf(parseWorkspaceToml(text))).toEqual([
      {
        path: 'soma.rlimits.nofile',
        message: 'expected a non-negative safe integer, got -1 (number)',
        line: 7,
      },
    ]);
  });

  it('expands templates in values after parsing, so a value cannot inject TOML', () => {
    const text = 'label = "w"\nsoma.cgroup.path = "${NAME}"\n';
    const value = 'x"\nttl = 5\n';
    // The whole value is one string (a cgroup path may not hold a line break): no `ttl` key.
    expect(issuesOf(parseWorkspaceToml(text, { NAME: value }))).toEqual([
      expect.objectContaining({
        path: 'soma.cgroup.path',
        message: expect.stringContaining(JSON.stringify(value)),
      }),
    ]);
    const fine = parseWorkspaceToml(text, { NAME: 'x"ttl = 5' });
    expect(fine.ok && [fine.value.cgroupPath, fine.value.ttlMs]).toEqual(['x"ttl = 5', 0]);
  });

  it('reports an integer too large for JavaScript as a type error, not a wrong number', () => {
    expect(issuesOf(parseWorkspaceToml('label = "a"\nttl = 99999999999999999999\n'))).toEqual([
      {
        path: 'ttl',
        message:
          'expected a non-negative safe integer, got 99999999999999999999 (integer too large)',
        line: 2,
      },
    ]);
  });

  it('names a TOML date where a string was expected', () => {
    const issues = issuesOf(parseWorkspaceToml('label = 1979-05-27\n'));
    expect(issues[0]?.message).toMatch(/^expected a non-empty string, got .*\(date\)$/);
  });
});

describe('parsePipelineToml', () => {
  it('parses the the contract pipeline example as written, filling the defaults', () => {
    expect(parsePipelineToml(SPEC_PIPELINE_TOML)).toEqual({
      ok: true,
      value: {
        label: 'echo-cat',
        workspace: '<WS>',
        discern: {
          sampleBytes: 4096,
          enrichProducer: true,
          replayChunks: 32,
          replayBytes: 0,
          maxBytesPerSec: 0,
        },
        nodes: [
          {
            label: 'producer',
            payload: { exec: '/bin/echo', argv: ['{"hello": 1}'], envp: [] },
          },
          { label: 'consumer', payload: { exec: '/bin/cat', argv: [], envp: [] } },
        ],
        edges: [{ from: 0, fromOutput: 'stdout', to: 1, toInput: 'stdin' }],
        restart: {
          restartOnFailure: false,
          backoffMsInitial: 200,
          backoffMsMax: 30000,
          restartMax: 0,
          resetAfterMs: 10000,
        },
        crashLoop: { deathsMax: 3, windowMs: 300000 },
      },
    });
  });

  it('replaces ${WS} from vars and leaves a placeholder without a value intact', () => {
    const text = SPEC_PIPELINE_TOML.replace('"<WS>"', '"${WS}"').replace('"/bin/cat"', '"${CAT}"');
    const result = parsePipelineToml(text, { WS: 'ws-1' });
    expect(result.ok && result.value.workspace).toBe('ws-1');
    expect(result.ok && result.value.nodes[1]?.payload.exec).toBe('${CAT}');
  });

  it('points a node issue at the line of its inline table', () => {
    const text = SPEC_PIPELINE_TOML.replace('"/bin/cat"', '42');
    expect(issuesOf(parsePipelineToml(text))).toEqual([
      {
        path: 'nodes[1].payload.Native.exec',
        message: 'expected a non-empty string, got 42 (number)',
        line: 11,
      },
    ]);
  });

  it('points an edge issue at the line of the key in the right [[edges]] table', () => {
    const text = `${SPEC_PIPELINE_TOML}\n[[edges]]\nfrom = 1\nfrom_output = "stdlog"\nto = 0\n`;
    expect(issuesOf(parsePipelineToml(text))).toEqual([
      {
        path: 'edges[1].from_output',
        message: 'expected one of stdout, stderr, got "stdlog" (string)',
        line: 21,
      },
    ]);
  });
});

describe('parsePipelineToml graph issues', () => {
  it('points a cycle at the line of the edge that closes it', () => {
    const text = `${SPEC_PIPELINE_TOML}\n[[edges]]\nfrom = 1\nto = 0\n`;
    expect(issuesOf(parsePipelineToml(text))).toEqual([
      { path: 'edges[1]', message: 'cycle: producer -> consumer -> producer', line: 19 },
    ]);
  });
});

describe('parsing never throws', () => {
  const isResult = (result: SpecResult<unknown>): boolean =>
    result.ok ? result.value !== undefined : result.issues.length > 0;

  it('returns a result for any string', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (text) => {
        expect(isResult(parseWorkspaceToml(text))).toBe(true);
        expect(isResult(parsePipelineToml(text))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  const mutation = fc.record({
    at: fc.nat(),
    deleteChars: fc.nat({ max: 8 }),
    insert: fc.oneof(
      fc.constantFrom('[', ']', '"', '=', '\n', '{', '}', ',', '.', '[[', '#', "'", '-1', '1e9'),
      fc.string({ maxLength: 6 }),
    ),
  });

  function garble(text: string, edits: { at: number; deleteChars: number; insert: string }[]) {
    let out = text;
    for (const edit of edits) {
      const at = edit.at % (out.length + 1);
      out = out.slice(0, at) + edit.insert + out.slice(at + edit.deleteChars);
    }
    return out;
  }

  it.each([
    ['workspace', SPEC_WORKSPACE_TOML, parseWorkspaceToml],
    ['pipeline', SPEC_PIPELINE_TOML, parsePipelineToml],
  ] as const)('returns issues or a valid spec for garbled %s TOML', (_name, text, parseFn) => {
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (edits) => {
        const result = (parseFn as (t: string) => SpecResult<unknown>)(garble(text, edits));
        expect(isResult(result)).toBe(true);
        if (!result.ok) {
          for (const issue of result.issues) {
            expect(issue.path).not.toBe('');
            expect(issue.message).not.toBe('');
            if (issue.line !== undefined) expect(issue.line).toBeGreaterThanOrEqual(1);
          }
        }
      }),
      { numRuns: 400 },
    );
  });
});
