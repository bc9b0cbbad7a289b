import { Prng, ratio } from './prng.js';

const draws = (seed: number, n: number): number[] => {
  const prng = new Prng(seed);
  return Array.from({ length: n }, () => prng.u32());
};

describe('Prng', () => {
  it('gives the same sequence for the same seed', () => {
    expect(draws(42, 100)).toEqual(draws(42, 100));
  });

  it.each([
    [1, 2],
    [0, 2 ** 32],
    [2 ** 40, 2 ** 40 + 1],
  ])('gives different sequences for seeds %d and %d', (a, b) => {
    expect(draws(a, 8)).not.toEqual(draws(b, 8));
  });

  it('keeps int(bound) inside [0, bound) and hits every value of a small range', () => {
    const prng = new Prng(7);
    const seen = new Set<number>();
    for (let i = 0; i < 1000; i++) {
      const x = prng.int(6);
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThan(6);
      seen.add(x);
    }
    expect(seen.size).toBe(6);
  });

  it('forks child streams that are deterministic and independent of later parent draws', () => {
    const a = new Prng(9);
    const b = new Prng(9);
    const childA = a.fork();
    const childB = b.fork();
    b.u32();
    expect([childA.u32(), childA.u32()]).toEqual([childB.u32(), childB.u32()]);
  });

  it.each([
    [0, 10, 0],
    [10, 10, 1000],
  ])('chance(%d/%d) fires %d times in 1000', (num, den, expected) => {
    const prng = new Prng(3);
    let fired = 0;
    for (let i = 0; i < 1000; i++) if (prng.chance(ratio(num, den))) fired++;
    expect(fired).toBe(expected);
  });

  it('chance(1/4) fires roughly a quarter of the time', () => {
    const prng = new Prng(11);
    let fired = 0;
    for (let i = 0; i < 10_000; i++) if (prng.chance(ratio(1, 4))) fired++;
    expect(fired).toBeGreaterThan(2300);
    expect(fired).toBeLessThan(2700);
  });

  it.each([[-1], [1.5], [Number.MAX_SAFE_INTEGER + 1]])('refuses seed %p', (seed) => {
    expect(() => new Prng(seed)).toThrow('non-negative safe integer');
  });

  it('refuses a ratio above one', () => {
    expect(() => ratio(3, 2)).toThrow('expected 0 <= 3 <= 2');
  });
});
