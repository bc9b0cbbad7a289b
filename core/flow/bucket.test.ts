import fc from 'fast-check';
import { TokenBucket } from './bucket.js';

describe('TokenBucket', () => {
  it('grants the burst at once, then refills at the rate', () => {
    const bucket = new TokenBucket(1000);
    expect(bucket.take(1500, 0)).toEqual({ grantedBytes: 1000, waitMs: 500 });
    expect(bucket.take(500, 250)).toEqual({ grantedBytes: 250, waitMs: 250 });
    expect(bucket.take(250, 500)).toEqual({ grantedBytes: 250, waitMs: 0 });
  });

  it('never refills above the burst, however long the pause', () => {
    const bucket = new TokenBucket(10, 20);
    bucket.take(20, 0);
    expect(bucket.take(1000, Number.MAX_SAFE_INTEGER).grantedBytes).toBe(20);
  });

  it('grants everything with rate 0 (unlimited)', () => {
    expect(new TokenBucket(0).take(1e9, 0)).toEqual({ grantedBytes: 1e9, waitMs: 0 });
  });

  it('refills nothing when the clock steps backwards', () => {
    const bucket = new TokenBucket(100);
    bucket.take(100, 1000);
    expect(bucket.take(10, 500).grantedBytes).toBe(0);
    expect(bucket.take(10, 1050).grantedBytes).toBe(5);
  });

  it('counts fractions of a byte across calls (integer milli-bytes)', () => {
    const bucket = new TokenBucket(3, 3);
    bucket.take(3, 0);
    const granted = [100, 200, 300, 400, 500, 600].map((t) => bucket.take(1, t).grantedBytes);
    expect(granted.reduce((a, b) => a + b, 0)).toBe(1);
  });
});

describe('TokenBucket properties', () => {
  it('waits long enough: taking again after waitMs grants the rest', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1e6 }),
        fc.integer({ min: 1, max: 5e6 }),
        (rate, want) => {
          const bucket = new TokenBucket(rate);
          const first = bucket.take(want, 0);
          if (first.grantedBytes === want) return;
          const rest = Math.min(want - first.grantedBytes, rate);
          expect(bucket.take(rest, first.waitMs).grantedBytes).toBe(rest);
        },
      ),
    );
  });

  it('never grants more than rate × elapsed + burst', () => {
    const steps = fc.array(fc.record({ dtMs: fc.nat(2000), want: fc.nat(5000) }), {
      maxLength: 60,
    });
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10000 }),
        fc.integer({ min: 1, max: 10000 }),
        steps,
        (rate, burst, ss) => {
          const bucket = new TokenBucket(rate, burst);
          let now = 0;
          let granted = 0;
          for (const step of ss) {
            now += step.dtMs;
            const grant = bucket.take(step.want, now);
            expect(grant.grantedBytes).toBeGreaterThanOrEqual(0);
            expect(grant.grantedBytes).toBeLessThanOrEqual(step.want);
            granted += grant.grantedBytes;
            // rate bytes/s × now ms / 1000, compared in integers.
            expect(granted * 1000).toBeLessThanOrEqual(rate * now + burst * 1000);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it.each([
    [-1, undefined, 'TokenBucket rate must be a non-negative integer: -1'],
    [1.5, undefined, 'TokenBucket rate must be a non-negative integer: 1.5'],
    [10, 0, 'TokenBucket burst must be at least 1 byte when rate-limited'],
  ])('refuses rate %p burst %p', (rate, burst, message) => {
    expect(() => new TokenBucket(rate, burst)).toThrow(message);
  });
});
