/**
 * schemas/*.json are what the field table generates (regenerating is a no-op), and taplo
 * (the TOML toolkit editors use) finds every example in examples/ and every TOML block of
 * the docs valid against them. A broken file is reported, so the check can fail.
 */

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { renderedSchemas, schemasDir } from './gen-schemas.js';

const root = join(schemasDir, '..');
const taplo = join(root, 'node_modules', '.bin', 'taplo');
const dir = mkdtempSync(join(tmpdir(), 'shipote-schemas-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `taplo check`; the exit status and what it said. */
function taploCheck(files: string[], schema?: string): { ok: boolean; out: string } {
  const args = ['check', ...(schema ? ['--schema', pathToFileURL(schema).href] : []), ...files];
  try {
    execFileSync(taplo, args, { cwd: root, stdio: 'pipe', env: { ...process.env, NO_COLOR: '1' } });
    return { ok: true, out: '' };
  } catch (error) {
    const e = error as { stdout?: Buffer; stderr?: Buffer };
    return { ok: false, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

/** The ```toml blocks of the markdown files in docs/ and the README. */
function docBlocks(): { where: string; text: string }[] {
  const docs = readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => join('docs', f));
  return ['README.md', ...docs].flatMap((file) => {
    const text = readFileSync(join(root, file), 'utf8');
    return [...text.matchAll(/```toml\n([\s\S]*?)```/g)].map((m, i) => ({
      where: `${file} block ${i + 1}`,
      text: m[1] ?? '',
    }));
  });
}

const schemaFor = (text: string) =>
  join(schemasDir, /^\[\[nodes\]\]/m.test(text) ? 'pipeline.schema.json' : 'workspace.schema.json');

describe('schemas', () => {
  it('are what the field table generates', () => {
    for (const [name, text] of Object.entries(renderedSchemas())) {
      expect({ name, text: readFileSync(join(schemasDir, name), 'utf8') }).toEqual({ name, text });
    }
  });

  it('every example names its schema and taplo finds it valid', () => {
    const examples = readdirSync(join(root, 'examples')).filter((f) => f.endsWith('.toml'));
    expect(examples.length).toBeGreaterThan(0);
    for (const f of examples) {
      expect({ f, head: readFileSync(join(root, 'examples', f), 'utf8').split('\n')[0] }).toEqual({
        f,
        head: expect.stringMatching(/^#:schema \.\.\/schemas\/(workspace|pipeline)\.schema\.json$/),
      });
    }
    const r = taploCheck(examples.map((f) => join('examples', f)));
    expect(r).toEqual({ ok: true, out: '' });
  });

  it('every TOML block of the docs is valid', () => {
    const blocks = docBlocks();
    expect(blocks.length).toBeGreaterThan(0);
    for (const [i, b] of blocks.entries()) {
      const file = join(dir, `block-${i}.toml`);
      writeFileSync(file, b.text);
      expect({ where: b.where, ...taploCheck([file], schemaFor(b.text)) }).toEqual({
        where: b.where,
        ok: true,
        out: '',
      });
    }
  });

  it('taplo reports an unknown key and a negative limit', () => {
    const file = join(dir, 'bad.toml');
    writeFileSync(file, 'label = "x"\nttl = -1\nbogus = 1\n');
    const r = taploCheck([file], join(schemasDir, 'workspace.schema.json'));
    expect(r.ok).toBe(false);
    expect(r.out).toContain("'bogus' was unexpected");
    expect(r.out).toContain('-1 is less than the minimum of 0');
  });
});
