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
