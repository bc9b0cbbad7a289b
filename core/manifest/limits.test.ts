import { LIMITS } from './limits.js';
import { lineLocator } from './lines.js';
import { parsePipelineToml, parseWorkspaceToml } from './parse.js';
import { validatePipelineSpec } from './pipeline.js';
import { validateWorkspaceSpec } from './workspace.js';

function pipelineToml(nodeCount: number, edges: string[]): string {
  const nodes: string[] = [];
  for (let i = 0; i < nodeCount; i++) {
    nodes.push(`[[nodes]]\nlabel = "n${i}"\npayload = { Native = { exec = "/bin/cat" } }\n`);
  }
  return `label = "p"\nworkspace = "W"\n${nodes.join('')}${edges.join('')}`;
}

function edge(from: number, to: number): string {
  return `[[edges]]\nfrom = ${from}\nto = ${to}\n`;
}

describe('spec limits (docs/CONTRACT.md §1, §3)', () => {
  it('locates the line of each of 2,400 paths in a 49 KB spec from one scan', () => {
    // Before the linear line index this took about 14 s (the text was rescanned per issue).
    const edges = Array.from({ length: 2400 }, () => edge(0, 1));
    const text = pipelineToml(2, edges);
    expect(text.length).toBeGreaterThan(40_000);
    const locate = lineLocator(text);
    const lines = edges.map((_, i) => locate(`edges[${i}].to`));
    expect(lines[0]).toBe(11);
    expect(lines[2399]).toBe(11 + 3 * 2399);
    expect(locate('nodes[1].payload.Native.exec')).toBe(8);
  });

  it('still gives each issue its line when a parsed spec has many', () => {
    const edges = Array.from({ length: LIMITS.edgesMax }, () => edge(0, 1));
    const result = parsePipelineToml(pipelineToml(2, edges));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues).toHaveLength(LIMITS.edgesMax - 1);
    expect(result.issues[0]).toMatchObject({ path: 'edges[1]', line: 12 });
  });

  it('refuses a spec text over the size limit, naming it', () => {
    const text = `label = "w"\n${'#'.repeat(LIMITS.specCharsMax)}\n`;
    const result = parseWorkspaceToml(text);
    expect(result).toEqual({
      ok: false,
      issues: [
        {
          path: '(toml)',
          message:
            `spec is ${text.length} characters; the limit is ` +
            `${LIMITS.specCharsMax} (specCharsMax)`,
        },
      ],
    });
  });

  it('refuses more nodes than the limit before reading any of them', () => {
    const nodes = Array.from({ length: LIMITS.nodesMax + 1 }, (_, i) => ({
      label: `n${i}`,
      payload: { Native: { exec: '/bin/cat' } },
    }));
    const result = validatePipelineSpec({ label: 'p', workspace: 'W', nodes });
    expect(result).toEqual({
      ok: false,
      issues: [
        {
          path: 'nodes',
          message: `${LIMITS.nodesMax + 1} nodes; the limit is ${LIMITS.nodesMax} (nodesMax)`,
        },
      ],
    });
  });

  it('refuses more edges than the limit, naming it', () => {
    const edges = Array.from({ length: LIMITS.edgesMax + 1 }, () => ({ from: 0, to: 1 }));
    const nodes = ['a', 'b'].map((label) => ({ label, payload: { Native: { exec: '/x' } } }));
    const result = validatePipelineSpec({ label: 'p', workspace: 'W', nodes, edges });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues).toEqual([
      {
        path: 'edges',
        message: `${LIMITS.edgesMax + 1} edges; the limit is ${LIMITS.edgesMax} (edgesMax)`,
      },
    ]);
  });

  it.each([
    ['a'.repeat(64), 'expected 1-63 characters'],
    ['bad\u001b[31mred', 'expected 1-63 characters'],
    ['-lead', 'expected 1-63 characters'],
    ['with space', 'expected 1-63 characters'],
  ])('refuses the workspace label %j', (label, words) => {
    const result = validateWorkspaceSpec({ label });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues[0]?.path).toBe('label');
    expect(result.issues[0]?.message).toContain(words);
    expect(result.issues[0]?.message).toContain('[A-Za-z0-9][A-Za-z0-9._-]*');
  });

  it.each(['a', 'run-4f2a9c', 'echo-cat', 'shipote.e2e_1', 'A'.repeat(63)])(
    'accepts the label %j',
    (label) => {
      expect(validateWorkspaceSpec({ label }).ok).toBe(true);
    },
  );

  it('refuses a malformed pipeline node label and pipeline label', () => {
    const nodes = [{ label: 'x\ny', payload: { Native: { exec: '/bin/cat' } } }];
    const result = validatePipelineSpec({ label: 'p'.repeat(70), workspace: 'W', nodes });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues.map((i) => i.path)).toEqual(['label', 'nodes[0].label']);
  });
});

describe('documented limits', () => {
  it('match the constants, row by row (docs/CLI.md, Limits)', async () => {
    const { readFileSync } = await import('node:fs');
    const doc = readFileSync(new URL('../../docs/CLI.md', import.meta.url), 'utf8');
    for (const [name, value] of Object.entries(LIMITS)) {
      const row = doc.split('\n').find((line) => line.startsWith(`| \`${name}\``));
      expect(row?.split('|')[2]?.trim()).toBe(String(value));
    }
  });
});

describe('template expansion budget', () => {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a placeholder under test
  it('refuses a spec whose ${VAR} expansion would exceed the limit, naming it', () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a placeholder under test
    const placeholders = '${A}'.repeat(1000);
    const text =
      'label = "p"\nworkspace = "W"\n[[nodes]]\nlabel = "a"\n' +
      `payload = { Native = { exec = "/bin/echo", argv = ["${placeholders}"] } }\n`;
    const result = parsePipelineToml(text, { A: 'x'.repeat(10_000) });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues).toEqual([
      {
        path: '(vars)',
        message:
          `expanding \${VAR} templates would exceed ${LIMITS.expandedCharsMax} characters ` +
          '(expandedCharsMax)',
      },
    ]);
  });

  it('still expands within the budget', () => {
    const text =
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a placeholder under test
      'label = "p"\nworkspace = "${W}"\n[[nodes]]\nlabel = "a"\n' +
      'payload = { Native = { exec = "/bin/cat" } }\n';
    const result = parsePipelineToml(text, { W: 'w'.repeat(1000) });
    expect(result.ok && result.value.workspace).toBe('w'.repeat(1000));
  });
});
