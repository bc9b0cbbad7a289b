import {
  chmodSync,
  chownSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensurePrivateDir, ensureStateDir } from './private-dir.js';

let base: string;
beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), 'shipote-priv-'));
});
afterEach(() => rmSync(base, { recursive: true, force: true }));

const check = (dir: string) => () => ensurePrivateDir(dir, 'socket directory', 'SHIPOTE_SOCKET');

describe('ensurePrivateDir', () => {
  it('creates a missing directory 0700 even under umask 000', () => {
    const before = process.umask(0);
    try {
      check(join(base, 'a', 'b'))();
    } finally {
      process.umask(before);
    }
    expect(statSync(join(base, 'a', 'b')).mode & 0o777).toBe(0o700);
  });

  it('refuses a world-writable directory and says how to fix it', () => {
    const dir = join(base, 'open');
    mkdirSync(dir);
    chmodSync(dir, 0o777);
    expect(check(dir)).toThrow(`has mode 0777 (writable by others); expected 0700`);
    expect(check(dir)).toThrow(`chmod 700 ${dir}`);
  });

  it('refuses a symbolic link to a directory', () => {
    const real = join(base, 'real');
    mkdirSync(real, { mode: 0o700 });
    symlinkSync(real, join(base, 'link'));
    expect(check(join(base, 'link'))).toThrow('is a symbolic link');
  });

  it('refuses a directory owned by another uid', () => {
    const dir = join(base, 'theirs');
    mkdirSync(dir, { mode: 0o700 });
    chownSync(dir, 4242, 4242);
    expect(() => ensurePrivateDir(dir, 'state directory', 'SHIPOTE_STATE', 1000)).toThrow(
      /owned by uid 4242; expected uid 1000 .* or set SHIPOTE_STATE/,
    );
  });

  it('tightens a directory of ours that others may only read', () => {
    const dir = join(base, 'readable');
    mkdirSync(dir);
    chmodSync(dir, 0o755);
    check(dir)();
    expect(statSync(dir).mode & 0o777).toBe(0o700);
  });

  it('leaves a readable state directory as it is, but refuses a shared one', () => {
    const dir = join(base, 'state');
    mkdirSync(dir);
    chmodSync(dir, 0o755);
    ensureStateDir(dir);
    expect(statSync(dir).mode & 0o777).toBe(0o755);
    chmodSync(dir, 0o1777);
    expect(() => ensureStateDir(dir)).toThrow(/state directory .*\(writable by others\)/);
  });
});
