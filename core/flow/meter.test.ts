import { ThroughputMeter } from './meter.js';

describe('ThroughputMeter', () => {
  it('reports 0 before any byte', () => {
    expect(new ThroughputMeter().bytesPerSec(12345)).toBe(0);
  });

  it('averages over the window once it has run that long', () => {
    const meter = new ThroughputMeter(5000);
    for (let t = 0; t < 10_000; t += 100) meter.add(100, t);
    expect(meter.bytesPerSec(10_000)).toBe(800);
    expect(meter.bytesPerSec(9_999)).toBe(1000);
    expect(meter.totalBytes).toBe(10_000);
  });

  it('divides by the time since the first byte (at least 1 s) while the window fills', () => {
    const meter = new ThroughputMeter(5000);
    meter.add(3000, 10_000);
    expect(meter.bytesPerSec(10_500)).toBe(3000);
    expect(meter.bytesPerSec(12_000)).toBe(1500);
  });

  it('drops to 0 once the bytes fall out of the window', () => {
    const meter = new ThroughputMeter(2000);
    meter.add(500, 0);
    expect(meter.bytesPerSec(1999)).toBe(250);
    expect(meter.bytesPerSec(2000)).toBe(0);
    expect(meter.totalBytes).toBe(500);
  });

  it('refuses a window shorter than one bucket', () => {
    expect(() => new ThroughputMeter(500)).toThrow(
      'ThroughputMeter window must be an integer >= 1000 ms: 500',
    );
  });
});
