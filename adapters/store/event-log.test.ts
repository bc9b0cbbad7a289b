import {
  existsSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFileEventLog } from './event-log.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'shipote-events-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const at = Date.UTC(2026, 10, 23, 11, 0, 0, 0);

describe('createFileEventLog', () => {
  it('appends one logfmt line per event', () => {
    const path = join(dir, 'events.log');
    const log = createFileEventLog({ path });
    log.append({ wallMs: at, ev: 'restart', fields: { ws: 'W1', cmd: 'C1', backoff_ms: 400 } });
    expect(readFileSync(path, 'utf8')).toBe(
      'ts=2026-11-23T11:00:00.000Z ev=restart ws=W1 cmd=C1 backoff_ms=400\n',
    );
  });

  it('rotates by size and keeps only the configured number of old files', () => {
    const path = join(dir, 'events.log');
    const log = createFileEventLog({ path, maxBytes: 200, keep: 2 });
    for (let i = 0; i < 40; i += 1) {
      log.append({ wallMs: at + i, ev: 'exit', fields: { n: i, msg: 'some padding text' } });
    }
    expect(statSync(path).size).toBeLessThanOrEqual(200);
    expect(existsSync(`${path}.1`)).toBe(true);
    expect(existsSync(`${path}.2`)).toBe(true);
    expect(existsSync(`${path}.3`)).toBe(false);
    const history = log.history();
    expect(history.at(-1)?.fields.n).toBe(39);
    const ns = history.map((e) => e.fields.n as number);
    expect(ns).toEqual([...ns].sort((a, b) => a - b));
    expect(ns.length).toBeLessThan(40);
  });

  it('continues the size count of an existing file after a restart', () => {
    const path = join(dir, 'events.log');
    const first = createFileEventLog({ path, maxBytes: 120, keep: 1 });
    first.append({ wallMs: at, ev: 'start', fields: { pad: 'x'.repeat(60) } });
    const second = createFileEventLog({ path, maxBytes: 120, keep: 1 });
    second.append({ wallMs: at, ev: 'start', fields: { pad: 'y'.repeat(60) } });
    expect(readFileSync(`${path}.1`, 'utf8')).toContain('x'.repeat(60));
    expect(readFileSync(path, 'utf8')).toContain('y'.repeat(60));
  });

  it('returns the last events of the history when a limit is given', () => {
    const log = createFileEventLog({ path: join(dir, 'events.log') });
    for (let i = 0; i < 5; i += 1) log.append({ wallMs: at, ev: 'e', fields: { i } });
    expect(log.history(2).map((e) => e.fields.i)).toEqual([3, 4]);
  });

  it('warns once and never throws when the file cannot be written', () => {
    const warnings: string[] = [];
    const log = createFileEventLog({ path: dir, warn: (m) => warnings.push(m) });
    log.append({ wallMs: at, ev: 'a', fields: {} });
    log.append({ wallMs: at, ev: 'b', fields: {} });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`event log ${dir}:`);
  });

  it('writes to a new file when the live one was removed or renamed behind its back', () => {
    const path = join(dir, 'events.log');
    const log = createFileEventLog({ path });
    log.append({ wallMs: at, ev: 'one', fields: {} });
    rmSync(path);
    log.append({ wallMs: at, ev: 'two', fields: {} });
    expect(readFileSync(path, 'utf8')).toContain('ev=two');
    renameSync(path, join(dir, 'moved.log'));
    log.append({ wallMs: at, ev: 'three', fields: {} });
    expect(readFileSync(path, 'utf8')).toBe('ts=2026-11-23T11:00:00.000Z ev=three\n');
    expect(readFileSync(join(dir, 'moved.log'), 'utf8')).not.toContain('ev=three');
    log.close();
  });

  it('never writes through a symbolic link planted in place of the open file', () => {
    const path = join(dir, 'events.log');
    const target = join(dir, 'target');
    writeFileSync(target, 'untouched\n');
    const warnings: string[] = [];
    const log = createFileEventLog({ path, warn: (m) => warnings.push(m) });
    log.append({ wallMs: at, ev: 'one', fields: {} });
    rmSync(path);
    symlinkSync(target, path);
    log.append({ wallMs: at, ev: 'two', fields: {} });
    expect(readFileSync(target, 'utf8')).toBe('untouched\n');
    expect(warnings).toHaveLength(1);
    log.close();
  });
});
