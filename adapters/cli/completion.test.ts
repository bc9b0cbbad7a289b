/**
 * Completion scripts come from the commander tree: each shell, given the words typed so
 * far, offers the subcommands and flags of the command reached. Shells that are not
 * installed are skipped with the reason.
 */

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { completionScript, completionTree } from './completion.js';
import { buildProgram } from './main.js';

const io = { out: () => {}, err: () => {}, env: {}, uid: 1000, color: false };

function installed(shell: string): boolean {
  try {
    execFileSync(shell, ['-c', 'true'], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

const dir = mkdtempSync(join(tmpdir(), 'shipote-completion-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The program with an extra command: the scripts must pick it up without other edits. */
function program() {
  const p = buildProgram(io);
  p.command('zz-probe').description('probe').option('--zz-flag', 'a flag');
  return p;
}

function script(shell: string): string {
  const path = join(dir, `c.${shell}`);
  writeFileSync(path, completionScript(program(), shell));
  return path;
}

const lines = (s: string) => s.split('\n').filter((l) => l !== '');

describe('completion', () => {
  it('walks every command of the tree', () => {
    const paths = completionTree(program()).map((n) => n.path);
    expect(paths).toEqual(expect.arrayContaining(['shipote', 'shipote workspace create']));
    expect(paths).toContain('shipote zz-probe');
  });

  it('refuses an unknown shell, naming the ones it knows', () => {
    expect(() => completionScript(program(), 'tcsh')).toThrow(
      'completion expects one of bash, zsh, fish, got "tcsh"',
    );
  });

  (installed('bash') ? it : it.skip)('bash offers subcommands, then the flags of the leaf', () => {
    const path = script('bash');
    const complete = (words: string[]) => {
      const arr = words.map((w) => `'${w}'`).join(' ');
      const body =
        `source ${path}; COMP_WORDS=(${arr}); COMP_CWORD=${words.length - 1}; _shipote; ` +
        `printf '%s\\n' "\${COMPREPLY[@]}"`;
      return lines(execFileSync('bash', ['-c', body]).toString());
    };
    expect(complete(['shipote', 'zz'])).toEqual(['zz-probe']);
    expect(complete(['shipote', 'flow', ''])).toEqual(['list', 'tail']);
    expect(complete(['shipote', '--socket', '/s', 'zz-probe', '--zz'])).toEqual(['--zz-flag']);
  });

  (installed('zsh') ? it : it.skip)('zsh offers subcommands, flags, then files', () => {
    const path = script('zsh');
    const complete = (words: string[], prefix: string) => {
      const arr = words.map((w) => `'${w}'`).join(' ');
      const body = `compdef() { :; }; source ${path}; compadd() { shift; print -l -- "$@"; };
        _files() { print FILES; }; words=(${arr}); CURRENT=${words.length};
        PREFIX='${prefix}'; _shipote`;
      return lines(execFileSync('zsh', ['-c', body]).toString());
    };
    expect(complete(['shipote', 'flow', ''], '')).toEqual(['list', 'tail']);
    expect(complete(['shipote', 'zz-probe', '--'], '--')).toEqual(['--zz-flag', '--help']);
    expect(complete(['shipote', 'workspace', 'create', ''], '')).toEqual(['FILES']);
  });

  (installed('fish') ? it : it.skip)('fish offers subcommands with descriptions and flags', () => {
    const path = script('fish');
    const complete = (line: string) =>
      lines(execFileSync('fish', ['-c', `source ${path}; complete -C '${line}'`]).toString());
    expect(complete('shipote zz')).toEqual(['zz-probe\tprobe']);
    expect(complete('shipote flow ').map((l) => l.split('\t')[0])).toEqual(['list', 'tail']);
    expect(complete('shipote zz-probe --z')).toEqual(['--zz-flag\ta flag']);
  });
});
