import fc from 'fast-check';
import { evaluateQuota, formatMiB, needsQuotaTick } from './quota.js';

const MiB = 1024 * 1024;

describe('formatMiB', () => {
  it.each([
    [0, '0.00 MiB'],
    [10 * MiB, '10.00 MiB'],
    [12 * MiB, '12.00 MiB'],
    [5_242_880, '5.00 MiB'],
    [MiB + MiB / 2, '1.50 MiB'],
    [5243, '0.01 MiB'],
    [5242, '0.00 MiB'],
    [MiB - 1, '1.00 MiB'],
  ])('formats %i bytes as %s', (bytes, text) => {
    expect(formatMiB(bytes)).toBe(text);
  });

  it('never loses more than half a hundredth of a MiB', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 40 }), (bytes) => {
        const shown = Number(formatMiB(bytes).split(' ')[0]);
        return Math.abs(shown * MiB - bytes) <= MiB / 200 + 1;
      }),
    );
  });
});

describe('evaluateQuota', () => {
  const limits = { memBytes: 10 * MiB, nproc: 2 };

  it('words breaches exactly as the spec does', () => {
    const v = evaluateQuota(
      limits,
      { memBytes: 12 * MiB, nprocAlive: 3 },
      { mem: 'log', nproc: 'log' },
    );
    expect(v.breaches).toEqual(['memory: 12.00 MiB > 10.00 MiB limit', 'nproc: 3 alive > 2 limit']);
    expect(v.kinds).toEqual(['memory', 'nproc']);
  });

  it.each([
    ['kill wins over log', 'log', 'kill', 'kill'],
    ['log alone logs', 'log', 'none', 'log'],
    ['none does nothing', 'none', 'none', 'none'],
    ['kill on memory wins', 'kill', 'log', 'kill'],
  ] as const)('%s', (_t, mem, nproc, action) => {
    const v = evaluateQuota(limits, { memBytes: 11 * MiB, nprocAlive: 3 }, { mem, nproc });
    expect(v.action).toBe(action);
  });

  it('treats a 0 limit as no limit and equality as within the limit', () => {
    const none = evaluateQuota(
      { memBytes: 0, nproc: 0 },
      { memBytes: 9e9, nprocAlive: 99 },
      { mem: 'kill', nproc: 'kill' },
    );
    expect(none).toEqual({ breaches: [], kinds: [], action: 'none' });
    const edge = evaluateQuota(
      limits,
      { memBytes: 10 * MiB, nprocAlive: 2 },
      { mem: 'kill', nproc: 'kill' },
    );
    expect(edge.action).toBe('none');
  });

  it('only acts on the resources that are over', () => {
    const v = evaluateQuota(
      limits,
      { memBytes: 11 * MiB, nprocAlive: 1 },
      { mem: 'log', nproc: 'kill' },
    );
    expect(v).toEqual({
      breaches: ['memory: 11.00 MiB > 10.00 MiB limit'],
      kinds: ['memory'],
      action: 'log',
    });
  });
});

describe('needsQuotaTick', () => {
  const none = { mem: 'none', nproc: 'none' } as const;
  it.each([
    ['no limits', { memBytes: 0, nproc: 0 }, { mem: 'kill', nproc: 'kill' }, false],
    ['limits nobody enforces', { memBytes: MiB, nproc: 2 }, none, false],
    ['a memory limit logged', { memBytes: MiB, nproc: 0 }, { ...none, mem: 'log' }, true],
    ['an nproc limit killed', { memBytes: 0, nproc: 2 }, { ...none, nproc: 'kill' }, true],
    ['an action without its limit', { memBytes: 0, nproc: 2 }, { ...none, mem: 'kill' }, false],
  ] as const)('decides whether %s need the quota tick (%s)', (_what, limits, enforce, expected) => {
    expect(needsQuotaTick(limits, enforce)).toBe(expected);
  });
});
