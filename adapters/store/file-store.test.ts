import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFileStore, tempPathFor } from './file-store.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'shipote-store-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('createFileStore', () => {
  it('reads empty when no snapshot exists yet', () => {
    const store = createFileStore({ path: join(dir, 'state.json') });
    expect(store.read()).toEqual({ kind: 'empty' });
  });

  it('writes the text whole and reads it back, creating the directory', () => {
    const path = join(dir, 'nested', 'shipote', 'state.json');
    const store = createFileStore({ path });
    expect(store.write('{"version":4}')).toEqual({ ok: true, value: true });
    expect(store.read()).toEqual({ kind: 'text', text: '{"version":4}' });
    expect(readdirSync(join(dir, 'nested', 'shipote'))).toEqual(['state.json']);
  });

  it('leaves the old file whole when a crash falls between temp write and rename', () => {
    const path = join(dir, 'state.json');
    const store = createFileStore({ path });
    store.write('old');
    // The crash: a temp file was written (and fsynced) but never renamed.
    writeFileSync(tempPathFor(path), 'new but torn');
    expect(store.read()).toEqual({ kind: 'text', text: 'old' });
    expect(store.write('newer')).toEqual({ ok: true, value: true });
    expect(readFileSync(path, 'utf8')).toBe('newer');
  });

  it('returns a PortError, not a throw, when the directory cannot be created', () => {
    writeFileSync(join(dir, 'file'), 'x');
    const store = createFileStore({ path: join(dir, 'file', 'state.json') });
    const result = store.write('x');
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error).toMatchObject({ _tag: 'PortError', port: 'Store', method: 'write' });
      expect(result.error.reason).toBe('Exists'); // mkdir -p through a file: EEXIST
    }
  });

  it('reports a read error other than absence as an error value', () => {
    const store = createFileStore({ path: dir }); // a directory: EISDIR
    const read = store.read();
    expect(read.kind).toBe('error');
  });

  it.each([
    ['corrupt snapshot', 'corrupt'],
    ['snapshot version 9 is newer than 4', 'newer'],
  ])('sets the file aside for a %s as state.json.%s-<ts>', (reason, tag) => {
    const path = join(dir, 'state.json');
    const wallMs = Date.UTC(2026, 10, 23, 11, 4, 18, 5);
    const store = createFileStore({ path, wallMs: () => wallMs });
    store.write('{garbage');
    const moved = store.setAside(reason);
    expect(moved).toEqual({ ok: true, value: { path: `${path}.${tag}-20261123T110418.005Z` } });
    expect(existsSync(path)).toBe(false);
    expect(store.read()).toEqual({ kind: 'empty' });
    if (moved.ok) expect(readFileSync(moved.value.path, 'utf8')).toBe('{garbage');
  });

  it('fails to set aside a file that does not exist, as a NotFound value', () => {
    const store = createFileStore({ path: join(dir, 'state.json') });
    const moved = store.setAside('corrupt');
    expect(moved.ok).toBe(false);
    if (!moved.ok) expect(moved.error.reason).toBe('NotFound');
  });
});
