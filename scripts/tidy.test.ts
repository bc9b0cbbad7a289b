import {
  ALLOW_PATH,
  type AllowList,
  applyAllowList,
  checkRepo,
  checkSource,
  formatRatchet,
  formatViolation,
  loadAllowList,
  REPO_ROOT,
  rulesFor,
  suggestAllowList,
  type Violation,
} from './tidy.js';

/** `head` line, then filler, then `tail` line: a body spanning exactly `lines` lines. */
function block(head: string, lines: number, tail: string, indent = ''): string {
  const body = Array.from({ length: lines - 2 }, (_, i) => `${indent}  step(${i});`);
  return [`${indent}${head}`, ...body, `${indent}${tail}`].join('\n');
}

const fnOfLines = (name: string, lines: number, indent = '') =>
  block(`function ${name}() {`, lines, '}', indent);

const messages = (path: string, text: string, rules?: Parameters<typeof checkSource>[2]) =>
  checkSource(path, text, rules).map(formatViolation);

describe('function length', () => {
  it.each([
    [69, []],
    [70, []],
    [71, ["a.ts:1: function 'f' is 71 lines (max 70)"]],
    [84, ["a.ts:1: function 'f' is 84 lines (max 70)"]],
  ])('a function whose body spans %i lines yields %j', (lines, expected) => {
    expect(messages('a.ts', fnOfLines('f', lines))).toEqual(expected);
  });

  it('measures an arrow function assigned to a const under the const name', () => {
    const source = `\n${block('export const handler = async (x: number) => {', 71, '};')}`;
    expect(messages('a.ts', source)).toEqual(["a.ts:2: function 'handler' is 71 lines (max 70)"]);
  });

  it('measures an arrow function with an expression body', () => {
    const source = block('const pick = (x: number) => x +', 71, '  x;');
    expect(messages('a.ts', source.replace(/;\n/g, ' +\n'))).toEqual([
      "a.ts:1: function 'pick' is 71 lines (max 70)",
    ]);
  });

  it('measures nested functions separately, each at its own line', () => {
    const inner = fnOfLines('inner', 75, '  ');
    const source = `function outer() {\n  prelude();\n${inner}\n  return inner;\n}\n`;
    expect(messages('a.ts', source)).toEqual([
      "a.ts:1: function 'outer' is 79 lines (max 70)",
      "a.ts:3: function 'inner' is 75 lines (max 70)",
    ]);
  });

  it.each([
    ['a class method', 'class Pool {\n  drain() {', '  }\n}', 'Pool.drain'],
    ['a constructor', 'class Pool {\n  constructor() {', '  }\n}', 'Pool.constructor'],
    ['an object literal method', 'const api = {\n  stop() {', '  },\n};', 'api.stop'],
    ['an arrow class property', 'class Pool {\n  tick = () => {', '  };\n}', 'Pool.tick'],
    ['a function expression', 'const f = function named() {', '};', 'named'],
    ['an anonymous default export', 'export default function () {', '}', 'default'],
    ['a default-exported arrow', 'export default () => {', '};', 'default'],
  ])('names %s %s', (_what, head, tail, name) => {
    const body = Array.from({ length: 71 }, () => '    step();').join('\n');
    const found = checkSource('a.ts', `${head}\n${body}\n${tail}\n`);
    expect(found.map((v) => (v.kind === 'function' ? v.name : ''))).toEqual([name]);
  });

  it('parses .mjs sources as JavaScript', () => {
    expect(messages('bin/x.mjs', `#!/usr/bin/env node\n${fnOfLines('main', 71)}`)).toEqual([
      "bin/x.mjs:2: function 'main' is 71 lines (max 70)",
    ]);
  });

  it('ignores overload signatures, which have no body', () => {
    expect(messages('a.ts', 'export function f(a: string): void;\n')).toEqual([]);
  });
});

describe('function length in test files', () => {
  it.each([
    ['describe', "describe('x', () => {"],
    ['it', "it('x', () => {"],
    ['test.skip', "test.skip('x', () => {"],
    ['beforeAll', 'beforeAll(() => {'],
    ['afterEach', 'afterEach(async () => {'],
    ['it.each(table)', "it.each([[1]])('x %i', (n) => {"],
    ['describe.each tagged template', "describe.each`a\n1`('x %s', (a) => {"],
    ['(why ? it.skip : it)', "(why ? it.skip : it)('x', () => {"],
  ])('exempts a long callback passed straight to %s', (_what, head) => {
    const body = Array.from({ length: 80 }, () => '  step();').join('\n');
    expect(messages('x.test.ts', `${head}\n${body}\n});\n`)).toEqual([]);
  });

  it('exempts callbacks passed to a local alias of describe', () => {
    const alias = 'const maybe = why ? describe.skip : describe;';
    const source = `${alias}\n${block("maybe('x', () => {", 80, '});')}`;
    expect(messages('x.test.ts', source)).toEqual([]);
  });

  it('still measures helpers and callbacks nested inside tests', () => {
    const nested = block('items.forEach((item) => {', 72, '});', '  ');
    const source = [fnOfLines('helper', 71), "it('x', () => {", nested, '});'].join('\n');
    expect(messages('x.test.ts', source)).toEqual([
      "x.test.ts:1: function 'helper' is 71 lines (max 70)",
      "x.test.ts:73: function 'items.forEach callback' is 72 lines (max 70)",
    ]);
  });

  it('does not exempt describe callbacks outside test files', () => {
    expect(messages('a.ts', block("describe('x', () => {", 71, '});'))).toEqual([
      "a.ts:1: function 'describe callback' is 71 lines (max 70)",
    ]);
  });
});

describe('line length', () => {
  it.each([
    ['100 ASCII chars', 'x'.repeat(100), []],
    ['101 ASCII chars', 'x'.repeat(101), ['a.ts:2: line is 101 chars (max 100)']],
    ['100 astral code points (200 UTF-16 units)', '\u{1F600}'.repeat(100), []],
    ['101 astral code points', '\u{1F600}'.repeat(101), ['a.ts:2: line is 101 chars (max 100)']],
    ['a long line with an http URL', `// see http://example.com/${'p'.repeat(100)}`, []],
    ['a long line with an https URL', `const u = 'https://example.com/${'p'.repeat(100)}';`, []],
    ['a CRLF line of 100 chars', `${'x'.repeat(100)}\r`, []],
  ])('%s on line 2 yields %j', (_what, line, expected) => {
    expect(messages('a.ts', `// first\n${line}\n`)).toEqual(expected);
  });

  it('applies to C++ sources, where function length is not checked', () => {
    const source = `${fnOfLines('f', 90)}\n// ${'y'.repeat(120)}\n`;
    expect(messages('native/a.cc', source, rulesFor('native/a.cc') ?? undefined)).toEqual([
      'native/a.cc:91: line is 123 chars (max 100)',
    ]);
  });

  it('reports violations of both kinds in line order', () => {
    const source = `${fnOfLines('f', 71)}\n${'z'.repeat(101)}\n`;
    expect(messages('a.ts', `${'z'.repeat(102)}\n${source}`)).toEqual([
      'a.ts:1: line is 102 chars (max 100)',
      "a.ts:2: function 'f' is 71 lines (max 70)",
      'a.ts:73: line is 101 chars (max 100)',
    ]);
  });
});

describe('which files tidy reads', () => {
  const all = { lineLength: true, functionLength: true };
  const linesOnly = { lineLength: true, functionLength: false };
  it.each([
    ['core/engine/step.ts', all],
    ['sim/main.ts', all],
    ['e2e/lifecycle.test.ts', all],
    ['bin/shipote.mjs', all],
    ['scripts/test.mjs', all],
    ['native/src/spawn.cc', linesOnly],
    ['native/src/spawn.h', linesOnly],
    ['native/x.cpp', linesOnly],
    ['native/index.d.ts', null],
    ['native/binding.gyp', null],
    ['docs/guide.md', null],
    ['jest.config.ts', null],
    ['examples/demo.ts', null],
    ['core/types.d.ts', all],
  ])('%s gets %j', (path, expected) => {
    expect(rulesFor(path)).toEqual(expected);
  });
});

describe('allow list (a ratchet)', () => {
  const fn = (path: string, name: string): Violation => ({
    kind: 'function',
    path,
    line: 1,
    name,
    lines: 80,
  });
  const long = (path: string, line: number): Violation => ({
    kind: 'line',
    path,
    line,
    chars: 101,
  });
  const allow = (over: Partial<AllowList>): AllowList => ({ functions: [], lines: [], ...over });

  it('tolerates listed functions and reports unlisted ones', () => {
    const found = [fn('a.ts', 'old'), fn('a.ts', 'fresh')];
    const ratchet = applyAllowList(found, allow({ functions: [{ path: 'a.ts', name: 'old' }] }));
    expect(ratchet.allowed).toEqual([found[0]]);
    expect(formatRatchet(ratchet)).toBe("a.ts:1: function 'fresh' is 80 lines (max 70)");
  });

  it('fails on a function entry that no longer occurs, so the list only shrinks', () => {
    const ratchet = applyAllowList([], allow({ functions: [{ path: 'a.ts', name: 'gone' }] }));
    expect(formatRatchet(ratchet)).toBe(
      'scripts/tidy-allow.json has stale entries (the list only shrinks):\n' +
        "  function 'gone' in a.ts is within limits now: drop it",
    );
  });

  it.each([
    ['fewer than allowed', 1, 2, '', ['a.ts has 1 long lines, allowed 2: lower it']],
    ['as many as allowed', 2, 2, '', []],
    ['more than allowed', 3, 2, 'a.ts:1,a.ts:2,a.ts:3', []],
  ])(
    'with %s long lines (%i found, %i allowed) reports [%s] and stale %j',
    (_w, n, count, bad, stale) => {
      const found = Array.from({ length: n }, (_, i) => long('a.ts', i + 1));
      const ratchet = applyAllowList(found, allow({ lines: [{ path: 'a.ts', count }] }));
      expect(ratchet.unexpected.map((v) => `${v.path}:${v.line}`).join(',')).toBe(bad);
      expect(ratchet.stale).toEqual(stale);
    },
  );

  it('suggests an allow list that makes the current violations pass', () => {
    const found = [fn('b.ts', 'g'), long('a.ts', 3), long('a.ts', 9), fn('a.ts', 'f')];
    const suggested = suggestAllowList(found);
    expect(suggested).toEqual({
      functions: [
        { path: 'a.ts', name: 'f' },
        { path: 'b.ts', name: 'g' },
      ],
      lines: [{ path: 'a.ts', count: 2 }],
    });
    expect(formatRatchet(applyAllowList(found, suggested))).toBe('');
  });
});

describe('the repository', () => {
  it(`has no violations beyond ${ALLOW_PATH}, and no stale entries in it`, () => {
    const ratchet = applyAllowList(checkRepo(REPO_ROOT), loadAllowList(REPO_ROOT));
    expect(formatRatchet(ratchet)).toBe('');
  }, 60_000);
});
