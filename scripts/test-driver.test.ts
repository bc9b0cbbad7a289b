// @ts-expect-error: the test driver is plain JavaScript (scripts/test.mjs), without types.
import { parseCounts } from './test.mjs';

describe('the test driver reads closing counts', () => {
  it.each([
    ['Tests:       1 failed, 2 skipped, 10 passed, 13 total', 10, 1, 2],
    ['Tests:       4 skipped, 1257 passed, 1261 total', 1257, 0, 4],
    ['Tests:       2 todo, 3 passed, 5 total', 3, 0, 2],
    ['e2e: 28 passed, 0 failed, 0 skipped', 28, 0, 0],
    ['6 passed, 0 failed', 6, 0, 0],
  ])('counts %j', (line, passed, failed, skipped) => {
    expect(parseCounts(`noise\n${line}\nmore noise\n`)).toEqual({
      passed,
      failed,
      skipped,
      found: true,
    });
  });

  it('finds nothing in output without a closing count', () => {
    expect(parseCounts('no tests here\n').found).toBe(false);
  });
});
