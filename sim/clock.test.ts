import { SimClock } from './clock.js';

describe('SimClock', () => {
  it('does not move time unless the runner advances it', () => {
    const clock = new SimClock();
    clock.setTimer(5, () => {});
    expect(clock.nowMs()).toBe(0);
    clock.advance(3);
    expect(clock.nowMs()).toBe(3);
  });

  it('fires timers in due order, ties in insertion order, each at its due time', () => {
    const clock = new SimClock();
    const fired: string[] = [];
    const at = (label: string) => () => fired.push(`${label}@${clock.nowMs()}`);
    clock.setTimer(30, at('c'));
    clock.setTimer(10, at('a1'));
    clock.setTimer(20, at('b'));
    clock.setTimer(10, at('a2'));
    clock.advance(100);
    expect(fired).toEqual(['a1@10', 'a2@10', 'b@20', 'c@30']);
    expect(clock.nowMs()).toBe(100);
  });

  it('never fires a timer inside setTimer, even one already due', () => {
    const clock = new SimClock();
    let fired = false;
    clock.setTimer(0, () => {
      fired = true;
    });
    expect(fired).toBe(false);
    clock.advance(0);
    expect(fired).toBe(true);
  });

  it('fires timers armed by a firing timer when they fall due within the same advance', () => {
    const clock = new SimClock();
    const fired: number[] = [];
    clock.setTimer(10, () => clock.setTimer(15, () => fired.push(clock.nowMs())));
    clock.advance(20);
    expect(fired).toEqual([15]);
  });
});

describe('SimClock cancellation and batches', () => {
  it('does not fire a cleared timer', () => {
    const clock = new SimClock();
    let fired = false;
    const handle = clock.setTimer(10, () => {
      fired = true;
    });
    clock.clearTimer(handle);
    clock.advance(50);
    expect(fired).toBe(false);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('advances one batch at a time: only the timers due at the earliest instant', () => {
    const clock = new SimClock();
    const fired: number[] = [];
    clock.setTimer(10, () => fired.push(10));
    clock.setTimer(20, () => fired.push(20));
    expect(clock.advanceBatch(100)).toBe(true);
    expect(fired).toEqual([10]);
    expect(clock.nowMs()).toBe(10);
    expect(clock.advanceBatch(15)).toBe(false);
    expect(clock.nowMs()).toBe(15);
  });

  it('moves by tickMs on tick() and keeps the wall clock in step', () => {
    const clock = new SimClock(10, 1000);
    clock.tick();
    expect(clock.nowMs()).toBe(10);
    expect(clock.wallMs()).toBe(1010);
  });
});
