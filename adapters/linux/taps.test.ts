import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pollUntil } from '../../testing/linux.js';
import { ByteBudget } from './budget.js';
import type { ChunkHandler } from './capture.js';
import { TapFlow } from './taps.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'shipote-taps-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const tap = { edgeIndex: 0, sampleBytes: 0, replayChunks: 1000, replayBytes: 64 * 1024 * 1024 };

function flowWith(budget: ByteBudget): { flow: TapFlow; push: ChunkHandler } {
  const flow = new TapFlow(
    'K',
    tap,
    join(dir, 'flow.sock'),
    () => {},
    () => 0,
    budget,
  );
  let push: ChunkHandler = () => {};
  flow.read(0, (_fd, onChunk) => {
    push = onChunk;
    return { close: () => {} };
  });
  return { flow, push: (c) => push(c) };
}

describe('flow readers and replay under the byte budget', () => {
  it('drops a stalled reader and caps the replay: never more than the budget', async () => {
    const budget = new ByteBudget(4 * 1024 * 1024);
    const { flow, push } = flowWith(budget);
    const stalled: Socket = connect(join(dir, 'flow.sock'));
    stalled.pause();
    await pollUntil(() => (flow.info().readers === 1 ? true : undefined), 'the reader');
    const chunk = Buffer.alloc(256 * 1024, 7);
    let maxHeld = 0;
    for (let i = 0; i < 200; i++) {
      push(chunk);
      maxHeld = Math.max(maxHeld, flow.heldBytes());
    }
    expect(maxHeld).toBeLessThanOrEqual(budget.totalBytes);
    expect(flow.info().readers).toBe(0); // dropped, not buffered for
    expect(flow.info().bytesTotal).toBe(200 * chunk.length);
    stalled.destroy();
    flow.close();
    expect(budget.usedBytes()).toBe(0);
  });
});
