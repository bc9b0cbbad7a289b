/** Files of the daemon never land in, or follow links planted in, a shared directory. */

import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFileEventLog } from './event-log.js';
import { createFileStore, tempPathFor } from './file-store.js';
import { eventLogPathFor, resolveStatePath } from './paths.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'shipote-store-hard-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('state in shared directories', () => {
  it('falls back to a per-uid directory, never a file directly in /tmp', () => {
    const state = resolveStatePath({}, 1000);
    expect(state).toBe('/tmp/shipote-1000/state.json');
    expect(eventLogPathFor(state)).toBe('/tmp/shipote-1000/events.log');
  });

  it('does not write through a link planted at the old predictable temp name', () => {
    const victim = join(dir, 'victim');
    writeFileSync(victim, 'root-only\n');
    const path = join(dir, 'state.json');
    symlinkSync(victim, join(dir, `.state.json.tmp-${process.pid}-1`));
    const store = createFileStore({ path });
    expect(store.write('{"version":4}')).toEqual({ ok: true, value: true });
    expect(readFileSync(victim, 'utf8')).toBe('root-only\n');
    expect(readFileSync(path, 'utf8')).toBe('{"version":4}');
  });

  it('names temp files unpredictably', () => {
    const a = tempPathFor('/d/state.json');
    const b = tempPathFor('/d/state.json');
    expect(a).not.toBe(b);
    expect(a).toMatch(/^\/d\/\.state\.json\.tmp-[0-9a-f]{32}$/);
  });

  it('does not append through a link planted at the event log', () => {
    const victim = join(dir, 'victim');
    writeFileSync(victim, 'root-only\n');
    const path = join(dir, 'events.log');
    symlinkSync(victim, path);
    const warnings: string[] = [];
    const log = createFileEventLog({ path, warn: (m) => warnings.push(m) });
    log.append({ wallMs: 1, ev: 'daemon-start', fields: {} });
    expect(readFileSync(victim, 'utf8')).toBe('root-only\n');
    expect(warnings.join('')).toContain('ELOOP');
    expect(existsSync(victim)).toBe(true);
  });
});
