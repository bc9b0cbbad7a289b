/**
 * docs/CLI.md matches `--help`: its reference section is exactly what the commander tree
 * generates (`npm run cli-doc`), every command has its heading there, and no help text
 * shows a TypeScript type name or object shape.
 */

import { readFileSync } from 'node:fs';
import { completionTree } from '../adapters/cli/completion.js';
import { buildProgram } from '../adapters/cli/main.js';
import { cliDocPath, regenerated } from './gen-cli-doc.js';

const io = { out: () => {}, err: () => {}, env: {}, uid: 1000, color: false };

describe('docs/CLI.md', () => {
  const doc = readFileSync(cliDocPath, 'utf8');

  it('holds every command as --help prints it (npm run cli-doc regenerates it)', () => {
    expect(doc).toBe(regenerated(doc));
  });

  it('has a heading for every command of the tree', () => {
    const paths = completionTree(buildProgram(io)).map((n) => n.path);
    for (const path of paths) expect(doc).toContain(`### \`${path}\``);
  });

  it('shows no TypeScript type names in help texts', () => {
    const typeLike = /\b[A-Z][a-z]+(?:[A-Z][a-z]+)*(?:View|Spec|Caps|Event)\b|\{\w+(?:[,:]|\})/;
    const texts = completionTree(buildProgram(io)).flatMap((n) => [
      n.description,
      ...n.subs.map((s) => s.description),
      ...n.flags.map((f) => f.description),
    ]);
    expect(texts.filter((t) => typeLike.test(t))).toEqual([]);
  });
});
