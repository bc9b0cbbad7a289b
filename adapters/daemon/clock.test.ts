import { readFile } from 'node:fs';
import { createSystemClock } from './clock.js';

describe('createSystemClock', () => {
  it('gives integer monotonic milliseconds and wall time near Date.now()', () => {
    const clock = createSystemClock();
    const a = clock.nowMs();
    const b = clock.nowMs();
    expect(Number.isInteger(a)).toBe(true);
    expect(b).toBeGreaterThanOrEqual(a);
    expect(Math.abs(clock.wallMs() - Date.now())).toBeLessThan(1000);
  });

  it('fires a timer once it is due, never before', async () => {
    const clock = createSystemClock();
    const atMs = clock.nowMs() + 30;
    const firedAt = await new Promise<number>((resolve) => {
      clock.setTimer(atMs, () => resolve(clock.nowMs()));
    });
    expect(firedAt).toBeGreaterThanOrEqual(atMs);
  });

  it('does not fire a cleared timer', async () => {
    const clock = createSystemClock();
    let fired = false;
    const handle = clock.setTimer(clock.nowMs() + 10, () => {
      fired = true;
    });
    clock.clearTimer(handle);
    await new Promise<void>((resolve) => clock.setTimer(clock.nowMs() + 40, resolve));
    expect(fired).toBe(false);
  });

  it('fires a timer already in the past at once', async () => {
    const clock = createSystemClock();
    await new Promise<void>((resolve) => clock.setTimer(clock.nowMs() - 1000, resolve));
  });
});

describe('a timer already due', () => {
  /** Runs `body` from an I/O callback: the loop's check phase then comes before its timers. */
  const fromIo = (body: () => void) =>
    new Promise<void>((resolve) => {
      readFile('/proc/self/stat', () => {
        body();
        resolve();
      });
    });

  it('fires on the loop’s next turn, not after setTimeout’s 1 ms floor', async () => {
    const clock = createSystemClock();
    const order: string[] = [];
    let done!: () => void;
    const finished = new Promise<void>((resolve) => {
      done = resolve;
    });
    await fromIo(() => {
      setTimeout(() => {
        order.push('setTimeout 0');
        done();
      }, 0);
      clock.setTimer(clock.nowMs(), () => order.push('due now'));
    });
    await finished;
    expect(order).toEqual(['due now', 'setTimeout 0']);
  });

  it('is not fired once cleared', async () => {
    const clock = createSystemClock();
    let fired = false;
    await fromIo(() => {
      const handle = clock.setTimer(clock.nowMs(), () => {
        fired = true;
      });
      clock.clearTimer(handle);
    });
    // A timer armed after it, due as soon: had the cleared one fired, it would be first.
    await new Promise<void>((resolve) => clock.setTimer(clock.nowMs(), resolve));
    expect(fired).toBe(false);
  });
});
