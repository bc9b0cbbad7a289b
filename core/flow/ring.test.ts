import fc from 'fast-check';
import { ByteRing } from './ring.js';

const bytes = (...values: number[]) => Uint8Array.from(values);

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

describe('ByteRing', () => {
  it('keeps the last capacity bytes in order and counts what it dropped', () => {
    const ring = new ByteRing(4);
    ring.push(bytes(1, 2, 3));
    ring.push(bytes(4, 5, 6));
    expect(Array.from(ring.tail())).toEqual([3, 4, 5, 6]);
    expect([ring.size, ring.totalBytes, ring.droppedBytes]).toEqual([4, 6, 2]);
  });

  it('keeps only the end of a chunk larger than the capacity', () => {
    const ring = new ByteRing(3);
    ring.push(bytes(1, 2, 3, 4, 5, 6, 7));
    expect(Array.from(ring.tail())).toEqual([5, 6, 7]);
    expect(Array.from(ring.tail(2))).toEqual([6, 7]);
  });

  it('holds nothing with capacity 0 but still counts bytes', () => {
    const ring = new ByteRing(0);
    ring.push(bytes(1, 2));
    expect([ring.size, ring.totalBytes, ring.droppedBytes, ring.tail().length]).toEqual([
      0, 2, 2, 0,
    ]);
  });

  it('returns a copy the caller may change', () => {
    const ring = new ByteRing(4);
    ring.push(bytes(1, 2));
    ring.tail()[0] = 9;
    expect(Array.from(ring.tail())).toEqual([1, 2]);
  });

  it('tail(n) equals the last n bytes of everything pushed', () => {
    const chunks = fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 30 });
    fc.assert(
      fc.property(fc.nat(64), chunks, fc.option(fc.nat(80)), (cap, cs, n) => {
        const ring = new ByteRing(cap);
        for (const c of cs) ring.push(c);
        const all = concat(cs);
        const held = all.subarray(Math.max(0, all.length - cap));
        const want = n === null ? held : held.subarray(Math.max(0, held.length - n));
        expect(Array.from(ring.tail(n ?? undefined))).toEqual(Array.from(want));
        expect(ring.totalBytes).toBe(all.length);
        expect(ring.size).toBe(held.length);
        expect(ring.droppedBytes).toBe(all.length - held.length);
      }),
      { numRuns: 500 },
    );
  });
});
