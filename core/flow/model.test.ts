/**
 * Model-based tests: random command sequences against the ring and the replay buffer,
 * each checked after every step against a deliberately naive model (a plain array).
 * fast-check prints the seed and replay path of a failing run.
 */

import fc from 'fast-check';
import { ReplayBuffer } from './replay.js';
import { ByteRing } from './ring.js';

interface Model {
  pushed: number[];
  chunks: number[][];
}

interface Real {
  ring: ByteRing;
  replay: ReplayBuffer;
  capacityBytes: number;
  chunksMax: number;
  bytesMax: number;
}

/** Naive replay model: keep trimmed chunks, drop from the front until both caps hold. */
function modelReplay(m: Model, r: Real): number[][] {
  let held = m.chunks.map((c) => (r.bytesMax > 0 ? c.slice(-r.bytesMax) : c));
  held = r.chunksMax === 0 ? [] : held;
  const bytes = (cs: number[][]) => cs.reduce((n, c) => n + c.length, 0);
  while (held.length > r.chunksMax || (r.bytesMax > 0 && bytes(held) > r.bytesMax)) {
    held = held.slice(1);
  }
  return held;
}

class PushCommand implements fc.Command<Model, Real> {
  constructor(readonly chunk: number[]) {}
  check(): boolean {
    return true;
  }
  run(m: Model, r: Real): void {
    const bytes = Uint8Array.from(this.chunk);
    r.ring.push(bytes);
    r.replay.push(bytes);
    m.pushed.push(...this.chunk);
    if (this.chunk.length > 0) m.chunks.push(this.chunk);
    expect(r.ring.totalBytes).toBe(m.pushed.length);
    expect(r.replay.chunks().map((c) => Array.from(c))).toEqual(modelReplay(m, r));
  }
  toString(): string {
    return `push(${this.chunk.length})`;
  }
}

class TailCommand implements fc.Command<Model, Real> {
  constructor(readonly maxBytes: number) {}
  check(): boolean {
    return true;
  }
  run(m: Model, r: Real): void {
    const held = m.pushed.slice(Math.max(0, m.pushed.length - r.capacityBytes));
    const want = held.slice(Math.max(0, held.length - this.maxBytes));
    expect(Array.from(r.ring.tail(this.maxBytes))).toEqual(want);
    expect(r.ring.droppedBytes).toBe(m.pushed.length - held.length);
  }
  toString(): string {
    return `tail(${this.maxBytes})`;
  }
}

const commands = [
  fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 24 }).map((c) => new PushCommand(c)),
  fc.nat(40).map((n) => new TailCommand(n)),
];

describe('ByteRing and ReplayBuffer against a naive model', () => {
  it('agree with the model after every push and tail', () => {
    fc.assert(
      fc.property(
        fc.nat(32),
        fc.nat(6),
        fc.nat(40),
        fc.commands(commands, { maxCommands: 60 }),
        (capacityBytes, chunksMax, bytesMax, cmds) => {
          const real: Real = {
            ring: new ByteRing(capacityBytes),
            replay: new ReplayBuffer(chunksMax, bytesMax),
            capacityBytes,
            chunksMax,
            bytesMax,
          };
          fc.modelRun(() => ({ model: { pushed: [], chunks: [] }, real }), cmds);
        },
      ),
      { numRuns: 300 },
    );
  });
});
