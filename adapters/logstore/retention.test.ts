import { basename } from 'node:path';
import { tempPathFor } from '../store/file-store.js';
import {
  dayMs,
  decideRetention,
  isFlowSocket,
  isSetAside,
  type RetentionCandidate,
  retentionDue,
  staleAtStart,
} from './retention.js';

const now = 100 * dayMs;
const c = (
  path: string,
  ageDays: number,
  ownerLive = false,
  kind: RetentionCandidate['kind'] = 'logs',
): RetentionCandidate => ({ path, kind, mtimeMs: now - ageDays * dayMs, ownerLive });

describe('decideRetention', () => {
  it.each([
    ['a dead command 31 days old, keep 30', [c('a', 31)], 30, ['a']],
    ['exactly 30 days old stays', [c('a', 30)], 30, []],
    ['30 days and 1 ms goes', [{ ...c('a', 30), mtimeMs: now - 30 * dayMs - 1 }], 30, ['a']],
    ['a live owner stays however old', [c('a', 400, true)], 30, []],
    ['keep_days 0 keeps everything', [c('a', 400)], 0, []],
    ['young ones stay', [c('a', 1), c('b', 29)], 30, []],
    [
      'set-aside snapshots and temp files by the same rule',
      [c('s', 8, false, 'snapshot-aside'), c('t', 8, false, 'temp'), c('u', 6, false, 'temp')],
      7,
      ['s', 't'],
    ],
  ])('%s', (_what, candidates, keepDays, expected) => {
    const out = decideRetention(candidates, keepDays, now);
    expect(out.map((r) => r.path)).toEqual(expected);
  });

  it('reports whole days of age', () => {
    expect(decideRetention([c('a', 45)], 30, now)).toEqual([
      { path: 'a', kind: 'logs', ageDays: 45 },
    ]);
  });
});

describe('retentionDue (the hourly gate)', () => {
  it.each([
    ['never run', null, 0, true],
    ['run a minute ago', now - 60_000, now, false],
    ['run 59 min 59 s ago', now - 3_599_999, now, false],
    ['run an hour ago', now - 3_600_000, now, true],
    ['last run in the future (clock went back)', now + 5000, now, true],
  ])('%s → %s', (_what, last, at, due) => {
    expect(retentionDue(last, at || now)).toBe(due);
  });
});

describe('names', () => {
  it.each([
    ['state.json.corrupt-20261123T110418.123Z', true],
    ['state.json.newer-20261123T110418.123Z', true],
    ['state.json', false],
    ['state.json.aside-x', false],
    ['other.json.corrupt-1', false],
  ])('isSetAside(%s) = %s', (name, expected) => {
    expect(isSetAside(name, 'state.json')).toBe(expected);
  });

  it('finds the temp files of atomic writes, old and random names', () => {
    const random = basename(tempPathFor('/s/state.json'));
    const names = [
      '.state.json.tmp-10-1',
      random,
      basename(tempPathFor('/s/counters.json')),
      'state.json',
      'state.json.ledger',
      '.state.json.tmp-',
      'state.json.corrupt-1',
    ];
    expect(staleAtStart(names)).toEqual(names.slice(0, 3));
  });

  it.each([
    ['flow-PIPE-0.sock', true],
    ['flow-.sock', false],
    ['notify-1.sock', false],
  ])('isFlowSocket(%s) = %s', (name, expected) => {
    expect(isFlowSocket(name)).toBe(expected);
  });
});
