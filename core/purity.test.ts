/**
 * core/ is pure: decisions never touch the clock, the file system, processes or
 * randomness. This scans every non-test source file under core/ and names each offending
 * line. (The test itself may use node:fs: it is not part of core's runtime.)
 */

import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const CORE_DIR = fileURLToPath(new URL('.', import.meta.url));

const FORBIDDEN: readonly { what: string; pattern: RegExp }[] = [
  { what: 'a node: import', pattern: /from\s+['"]node:/ },
  { what: 'require(', pattern: /\brequire\s*\(/ },
  { what: 'Date.now', pattern: /\bDate\.now\b/ },
  { what: 'new Date', pattern: /\bnew\s+Date\b/ },
  { what: 'Math.random', pattern: /\bMath\.random\b/ },
  { what: 'setTimeout', pattern: /\bsetTimeout\b/ },
  { what: 'setInterval', pattern: /\bsetInterval\b/ },
  { what: 'process.', pattern: /\bprocess\.[A-Za-z_$]/ },
];

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) out.push(path);
  }
  return out.sort();
}

/** The code of a line: doc-comment lines and trailing `//` comments do not count. */
function codeOf(line: string): string {
  const trimmed = line.trim();
  if (trimmed.startsWith('*') || trimmed.startsWith('/*')) return '';
  const comment = line.search(/(^|[^:'"`])\/\//);
  return comment < 0 ? line : line.slice(0, comment + 1);
}

/** Offending lines of one file's text, as `file:line: what — text`. */
function findImpurities(file: string, text: string): string[] {
  const found: string[] = [];
  text.split('\n').forEach((line, i) => {
    const code = codeOf(line);
    for (const { what, pattern } of FORBIDDEN) {
      if (pattern.test(code)) found.push(`${file}:${i + 1}: ${what} — ${line.trim()}`);
    }
  });
  return found;
}

describe('core purity', () => {
  const files = sourceFiles(CORE_DIR);

  it('finds the core sources to scan', () => {
    expect(files.length).toBeGreaterThan(10);
    expect(files.some((f) => f.endsWith(join('engine', 'supervisor.ts')))).toBe(true);
  });

  it.each([
    ["import { x } from 'node:fs';", 'a node: import'],
    ["const fs = require('fs');", 'require('],
    ['const t = Date.now();', 'Date.now'],
    ['const d = new Date();', 'new Date'],
    ['const r = Math.random();', 'Math.random'],
    ['setTimeout(f, 1);', 'setTimeout'],
    ['setInterval(f, 1);', 'setInterval'],
    ['if (process.env.X) {}', 'process.'],
  ])('flags %s as %s, naming the file and line', (line, what) => {
    expect(findImpurities('core/x.ts', `// ok\n${line}\n`)).toEqual([
      `core/x.ts:2: ${what} — ${line}`,
    ]);
  });

  it('does not flag look-alikes, comments or prose', () => {
    const text = [
      'const processes = 1; clock.nowMs(); // process.exit is not called',
      ' * Start one process. Then Date.now is never read.',
      '// setTimeout lives in the adapters',
    ].join('\n');
    expect(findImpurities('core/x.ts', text)).toEqual([]);
  });

  it('still flags code before a trailing comment', () => {
    expect(findImpurities('core/x.ts', 'Date.now(); // why')).toHaveLength(1);
  });

  it('has no impure call or import in any core source file', () => {
    const found = files.flatMap((file) =>
      findImpurities(relative(join(CORE_DIR, '..'), file), readFileSync(file, 'utf8')),
    );
    expect(found).toEqual([]);
  });
});
