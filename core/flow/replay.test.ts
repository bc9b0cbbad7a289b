import fc from 'fast-check';
import { ReplayBuffer } from './replay.js';

const chunk = (n: number, fill = n) => new Uint8Array(n).fill(fill);

describe('ReplayBuffer', () => {
  it('keeps the last chunksMax chunks, oldest first', () => {
    const replay = new ReplayBuffer(2, 0);
    for (const n of [1, 2, 3]) replay.push(chunk(n));
    expect(replay.chunks().map((c) => c.length)).toEqual([2, 3]);
    expect(replay.bytes).toBe(5);
  });

  it('evicts the oldest chunks to stay within bytesMax', () => {
    const replay = new ReplayBuffer(10, 6);
    for (const n of [3, 2, 4]) replay.push(chunk(n));
    expect(replay.chunks().map((c) => c.length)).toEqual([2, 4]);
  });

  it('keeps only the last bytesMax bytes of a chunk larger than bytesMax', () => {
    const replay = new ReplayBuffer(4, 3);
    replay.push(Uint8Array.from([1, 2, 3, 4, 5]));
    expect(replay.chunks().map((c) => Array.from(c))).toEqual([[3, 4, 5]]);
  });

  it('copies chunks so a reused caller buffer does not change the replay', () => {
    const replay = new ReplayBuffer(4, 0);
    const buf = chunk(2, 7);
    replay.push(buf);
    buf.fill(0);
    expect(Array.from(replay.chunks()[0] ?? [])).toEqual([7, 7]);
  });

  it('always respects both caps and holds the newest suffix of chunks', () => {
    const chunks = fc.array(fc.uint8Array({ minLength: 1, maxLength: 20 }), { maxLength: 40 });
    fc.assert(
      fc.property(fc.nat(8), fc.nat(50), chunks, (chunksMax, bytesMax, cs) => {
        const replay = new ReplayBuffer(chunksMax, bytesMax);
        for (const c of cs) replay.push(c);
        const held = replay.chunks();
        const total = held.reduce((n, c) => n + c.length, 0);
        expect(held.length).toBeLessThanOrEqual(chunksMax);
        if (bytesMax > 0) expect(total).toBeLessThanOrEqual(bytesMax);
        expect(replay.bytes).toBe(total);
        // The held chunks are the newest ones, each possibly trimmed at its front.
        held.forEach((c, i) => {
          const source = cs[cs.length - held.length + i]!;
          expect(Array.from(c)).toEqual(Array.from(source.subarray(source.length - c.length)));
        });
        // The newest chunk is never dropped when any chunk is kept at all.
        if (chunksMax > 0 && cs.length > 0) expect(held.length).toBeGreaterThan(0);
      }),
      { numRuns: 500 },
    );
  });
});
