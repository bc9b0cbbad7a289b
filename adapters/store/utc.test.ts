import fc from 'fast-check';
import { httpDate, isoUtc } from './utc.js';

/** Every millisecond of years 0–9999 and a little beyond on both sides. */
const anyMs = fc.integer({ min: -62_300_000_000_000, max: 253_500_000_000_000 });

describe('UTC date strings without the date cache', () => {
  it('equal Date#toISOString', () => {
    fc.assert(fc.property(anyMs, (ms) => isoUtc(ms) === new Date(ms).toISOString()));
    expect(isoUtc(0)).toBe('1970-01-01T00:00:00.000Z');
  });

  it('equal Date#toUTCString (the HTTP Date format)', () => {
    fc.assert(fc.property(anyMs, (ms) => httpDate(ms) === new Date(ms).toUTCString()));
    expect(httpDate(1_795_000_000_000)).toBe('Wed, 18 Nov 2026 11:06:40 GMT');
  });

  it('throw for an invalid time as Date does', () => {
    expect(() => isoUtc(Number.NaN)).toThrow(RangeError);
    expect(httpDate(Number.NaN)).toBe('Invalid Date');
  });
});
