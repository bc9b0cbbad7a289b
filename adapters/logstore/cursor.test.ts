import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LogCursor, type LogQuery, type LogSourceSpec } from './cursor.js';
import { listFiles, readStats, recordBytes, startOfLastLines } from './files.js';
import { parseDurationMs, parseTimeBound } from './time.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'shipote-cursor-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function record(wallMs: number, offset: number, seq: number): Buffer {
  const b = Buffer.alloc(recordBytes);
  b.writeBigInt64LE(BigInt(wallMs), 0);
  b.writeBigUInt64LE(BigInt(offset), 8);
  b.writeBigUInt64LE(BigInt(seq), 16);
  return b;
}

/** Writes a stream as the native writer would: chunks [wallMs, seq, text], one file. */
function writeStream(
  stream: 'stdout' | 'stderr',
  chunks: [number, number, string][],
  suffix = '',
  base = 0,
): void {
  let offset = base;
  const log = join(dir, `${stream}.log${suffix}`);
  const idx = join(dir, `${stream}.idx${suffix}`);
  writeFileSync(log, '');
  writeFileSync(idx, '');
  for (const [wallMs, seq, text] of chunks) {
    appendFileSync(idx, record(wallMs, offset, seq));
    appendFileSync(log, text);
    offset += Buffer.byteLength(text);
  }
}

function readAll(sources: LogSourceSpec[], q: LogQuery): string {
  const c = new LogCursor(sources, q);
  const parts: Buffer[] = [];
  for (let b = c.next(); b; b = c.next()) parts.push(b);
  return Buffer.concat(parts).toString();
}

const out = (q: LogQuery = {}): string => readAll([{ dir, stream: 'stdout' }], q);

describe('reading one stream', () => {
  beforeEach(() => {
    // Rotated: stdout.log.1 holds offsets [0, 9), stdout.log [9, 18).
    writeStream(
      'stdout',
      [
        [1000, 1, 'a1\na2\n'],
        [2000, 3, 'a3'],
      ],
      '.1',
    );
    writeStream(
      'stdout',
      [
        [2000, 3, '\nb1\n'],
        [5000, 4, 'b2\nb3\n'],
      ],
      '',
      8,
    );
  });

  it('concatenates the rotated files, oldest first', () => {
    expect(out()).toBe('a1\na2\na3\nb1\nb2\nb3\n');
  });

  it.each([
    [1, 'b3\n'],
    [3, 'b1\nb2\nb3\n'],
    [6, 'a1\na2\na3\nb1\nb2\nb3\n'],
    [60, 'a1\na2\na3\nb1\nb2\nb3\n'],
    [0, ''],
  ])('-n %i', (lines, expected) => {
    expect(out({ lines })).toBe(expected);
  });

  it('--tail bytes', () => {
    expect(out({ tailBytes: 4 })).toBe('\nb3\n');
  });

  it('stamps each line with the time of the chunk that held its first byte', () => {
    const iso = (ms: number) => new Date(ms).toISOString();
    expect(out({ timestamps: true, lines: 4 })).toBe(
      `${iso(2000)} a3\n${iso(2000)} b1\n${iso(5000)} b2\n${iso(5000)} b3\n`,
    );
  });

  it.each([
    [{ sinceMs: 2000 }, 'a3\nb1\nb2\nb3\n'],
    [{ sinceMs: 2001 }, 'b2\nb3\n'],
    [{ untilMs: 1999 }, 'a1\na2\n'],
    [{ untilMs: 2000 }, 'a1\na2\na3\nb1\n'],
    [{ sinceMs: 1500, untilMs: 4000 }, 'a3\nb1\n'],
    [{ sinceMs: 9000 }, ''],
  ])('%o', (q, expected) => {
    expect(out(q)).toBe(expected);
  });
});

describe('merging', () => {
  it('merges stdout and stderr by time then arrival, -n over the merge', () => {
    writeStream('stdout', [
      [1000, 1, 'o1\n'],
      [3000, 3, 'o2\no3\n'],
    ]);
    writeStream('stderr', [
      [2000, 2, 'e1\n'],
      [3000, 4, 'e2\n'],
    ]);
    const both: LogSourceSpec[] = [
      { dir, stream: 'stdout' },
      { dir, stream: 'stderr' },
    ];
    expect(readAll(both, {})).toBe('o1\ne1\no2\no3\ne2\n');
    expect(readAll(both, { lines: 2 })).toBe('o3\ne2\n');
  });

  it('labels lines and ends a cut-off last line before the next label', () => {
    const other = mkdtempSync(join(tmpdir(), 'shipote-cursor-'));
    writeStream('stdout', [[1000, 1, 'x1\nno-newline']]);
    const d = dir;
    dir = other;
    writeStream('stdout', [[2000, 2, 'y1\n']]);
    dir = d;
    const text = readAll(
      [
        { dir: d, stream: 'stdout', label: 'x' },
        { dir: other, stream: 'stdout', label: 'yy' },
      ],
      {},
    );
    rmSync(other, { recursive: true, force: true });
    expect(text).toBe('x  | x1\nx  | no-newline\nyy | y1\n');
  });

  it('adds a stream that begins later from its first line, ignoring -n, wider label', () => {
    writeStream('stdout', [[1000, 1, 'a1\na2\n']]);
    const first = dir;
    const later = mkdtempSync(join(tmpdir(), 'shipote-cursor-'));
    const c = new LogCursor([{ dir: first, stream: 'stdout', label: 'a' }], { lines: 1 });
    expect(c.next()?.toString()).toBe('a | a2\n');
    expect(c.next()).toBeNull();
    c.add([{ dir: join(later, 'not-yet'), stream: 'stdout', label: 'later' }]);
    expect(c.next()).toBeNull(); // its directory is not there yet
    expect(c.done()).toBe(false);
    dir = join(later, 'not-yet');
    mkdirSync(dir);
    writeStream('stdout', [[2000, 2, 'l1\nl2\n']]);
    dir = first;
    expect(c.next()?.toString()).toBe('later | l1\nlater | l2\n');
    rmSync(later, { recursive: true, force: true });
  });
});

describe('tail reads', () => {
  it('-n 100 of a 64 MiB stream reads near the end only', () => {
    const line = `${'x'.repeat(99)}\n`;
    const block = line.repeat(10_000);
    writeStream('stdout', [[1000, 1, '']]);
    for (let i = 0; i < 64; i++) appendFileSync(join(dir, 'stdout.log'), block);
    const files = listFiles(dir, 'stdout');
    readStats.bytes = 0;
    const start = startOfLastLines(files, 100);
    expect(start).toBe(files[0]!.size - 100 * 100);
    expect(readStats.bytes).toBeLessThan(256 * 1024);
  });
});

describe('reading line by line', () => {
  it('reads each byte about once (block reads, a caught-up stream not asked per line)', () => {
    const line = `${'y'.repeat(99)}\n`;
    writeStream('stdout', [[1000, 1, line.repeat(10_000)]]);
    writeStream('stderr', []);
    readStats.bytes = 0;
    const text = readAll(
      [
        { dir, stream: 'stdout' },
        { dir, stream: 'stderr' },
      ],
      { timestamps: true },
    );
    expect(text.split('\n').length).toBe(10_001);
    expect(readStats.bytes).toBeLessThan(2 * 1_000_000);
  });
});

describe('time bounds', () => {
  it.each([
    ['10m', 600_000],
    ['1h30m', 5_400_000],
    ['90s', 90_000],
    ['2d', 172_800_000],
    ['250ms', 250],
    ['10', null],
    ['m', null],
    ['1h 30m', null],
  ])('parseDurationMs(%s) = %s', (raw, ms) => {
    expect(parseDurationMs(raw)).toBe(ms);
  });

  it('takes RFC 3339 times and names the field on a bad value', () => {
    expect(parseTimeBound('since', '2026-01-02T03:04:05Z', 0)).toEqual({
      ok: true,
      wallMs: Date.UTC(2026, 0, 2, 3, 4, 5),
    });
    expect(parseTimeBound('since', '2026-01-02T03:04:05.5+01:00', 0)).toEqual({
      ok: true,
      wallMs: Date.UTC(2026, 0, 2, 2, 4, 5, 500),
    });
    expect(parseTimeBound('until', '10m', 1_000_000)).toEqual({ ok: true, wallMs: 400_000 });
    const bad = parseTimeBound('until', 'soon', 0);
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.message).toMatch(/^until: expected a duration .* got "soon"$/);
  });
});
