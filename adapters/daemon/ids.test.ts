import { decodeTime } from 'ulid';
import { randomBytes } from '../store/random.js';
import { createUlidIds, ulidFactory } from './ids.js';

const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

describe('ULIDs', () => {
  it('are 26 Crockford base32 characters whose time part the ulid package decodes', () => {
    const next = ulidFactory(() => 1_700_000_123_456);
    const id = next();
    expect(id).toMatch(ULID);
    expect(decodeTime(id)).toBe(1_700_000_123_456);
    expect(createUlidIds().next()).toMatch(ULID);
  });

  it('increase strictly within one millisecond and when the clock goes back', () => {
    let now = 1_700_000_000_000;
    const next = ulidFactory(() => now);
    const ids: string[] = [];
    for (let i = 0; i < 500; i++) ids.push(next());
    now -= 5000;
    for (let i = 0; i < 10; i++) ids.push(next());
    now += 10_000;
    ids.push(next());
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    expect(decodeTime(ids.at(-1) as string)).toBe(now);
  });

  it('differ in their random part across factories', () => {
    const a = ulidFactory(() => 1)();
    const b = ulidFactory(() => 1)();
    expect(a.slice(0, 10)).toBe(b.slice(0, 10));
    expect(a.slice(10)).not.toBe(b.slice(10));
  });
});

describe('randomBytes (from /dev/urandom)', () => {
  it('hands out the asked number of bytes, never the same ones twice', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 600; i++) seen.add(randomBytes(16).toString('hex'));
    expect(seen.size).toBe(600);
    expect(randomBytes(10_000)).toHaveLength(10_000);
    expect(randomBytes(0)).toHaveLength(0);
  });
});
