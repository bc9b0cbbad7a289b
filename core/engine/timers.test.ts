import fc from 'fast-check';
import { decodeTimer, encodeTimer, type TimerKey } from './timers.js';

const id = fc.string({ minLength: 1, maxLength: 12 });

const key: fc.Arbitrary<TimerKey> = fc.oneof(
  fc.record({
    kind: fc.constantFrom(
      'restart',
      'pipeline-restart',
      'stop-grace',
      'pipeline-stop-grace',
      'ttl',
      'watchdog',
      'kill',
      'ready',
    ),
    id,
  }),
  fc.record({
    kind: fc.constant('cgroup-retry'),
    op: fc.constantFrom('kill', 'remove'),
    handle: id,
    attempt: fc.nat(9),
  }),
  fc.record({ kind: fc.constantFrom('shutdown-grace', 'sample', 'save') }),
) as fc.Arbitrary<TimerKey>;

describe('timer keys', () => {
  it('decode what they encode, ids and cgroup paths with colons included', () => {
    fc.assert(fc.property(key, (k) => expect(decodeTimer(encodeTimer(k))).toEqual(k)));
  });

  it('encode distinct keys to distinct strings', () => {
    fc.assert(
      fc.property(key, key, (a, b) => {
        const equal = JSON.stringify(decodeTimer(encodeTimer(a))) === JSON.stringify(b);
        expect(encodeTimer(a) === encodeTimer(b)).toBe(equal);
      }),
    );
  });

  it('reads the names an operator sees in traces', () => {
    expect(encodeTimer({ kind: 'pipeline-restart', id: 'P1' })).toBe('pipeline-restart:P1');
    expect(encodeTimer({ kind: 'save' })).toBe('save');
    const retry = { kind: 'cgroup-retry', op: 'remove', handle: '/a:b', attempt: 2 } as const;
    expect(encodeTimer(retry)).toBe('cgroup-retry:remove:2:/a:b');
  });

  it.each([
    ['prestart:P1', 'unknown timer key "prestart:P1"'],
    ['pstop-grace:P1', 'unknown timer key "pstop-grace:P1"'],
    ['restart', 'unknown timer key "restart"'],
    ['', 'unknown timer key ""'],
    ['save:x', '"save:x" has an id its kind never takes'],
    ['sample:', '"sample:" has an id its kind never takes'],
    ['cgroup-retry:zap:1:/a', 'malformed cgroup-retry key "cgroup-retry:zap:1:/a"'],
    ['cgroup-retry:kill:x:/a', 'malformed cgroup-retry key "cgroup-retry:kill:x:/a"'],
    ['cgroup-retry:kill:1.5:/a', 'malformed cgroup-retry key "cgroup-retry:kill:1.5:/a"'],
    ['cgroup-retry:remove:1', 'malformed cgroup-retry key "cgroup-retry:remove:1"'],
  ])('refuses %j, a key nothing encodes, saying so', (text, why) => {
    expect(() => decodeTimer(text)).toThrow(`decodeTimer: ${why}`);
  });

  it.each([
    ['ready:C1', { kind: 'ready', id: 'C1' }],
    ['kill:', { kind: 'kill', id: '' }],
    ['cgroup-retry:kill:0:/a', { kind: 'cgroup-retry', op: 'kill', attempt: 0, handle: '/a' }],
    ['shutdown-grace', { kind: 'shutdown-grace' }],
  ])('reads %j', (text, key) => {
    expect(decodeTimer(text)).toEqual(key);
  });
});
