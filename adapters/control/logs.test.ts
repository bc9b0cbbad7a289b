import { simEngine } from '../../testing/engine.js';
import { resolveLogTarget, resolveWorkspaceLogs } from './logs.js';
import type { KnownLog } from './types.js';

const known: KnownLog[] = [
  { key: 'OLD1', ws: 'WSGONE', wsLabel: 'gone', label: 'web', startedWallMs: 1000 },
  { key: 'OLD2', ws: 'WSGONE', wsLabel: 'gone', label: 'web', startedWallMs: 2000 },
  { key: 'OLD3', ws: 'WSGONE', wsLabel: 'gone', label: 'db', startedWallMs: 1500 },
];

describe('logs the supervisor no longer knows (an earlier daemon, a dropped record)', () => {
  const sup = simEngine().sup;

  it('finds the newest log on disk by workspace label or id and command label or id', () => {
    expect(resolveLogTarget(sup, 'gone', 'web', () => known).key).toBe('OLD2');
    expect(resolveLogTarget(sup, 'WSGONE', 'OLD1', () => known).key).toBe('OLD1');
    expect(resolveLogTarget(sup, 'gone', 'web', () => known).finished()).toBe(true);
  });

  it('still answers not found when neither the supervisor nor the disk knows it', () => {
    expect(() => resolveLogTarget(sup, 'gone', 'cache', () => known)).toThrow(
      /no workspace "gone"/,
    );
  });

  it('merges a forgotten workspace from its logs on disk, each key once, labelled', () => {
    const { targets } = resolveWorkspaceLogs(sup, 'gone', () => known);
    expect(targets.map((t) => [t.key, t.label])).toEqual([
      ['OLD1', 'web'],
      ['OLD2', 'web'],
      ['OLD3', 'db'],
    ]);
    expect(() => resolveWorkspaceLogs(sup, 'nowhere', () => known)).toThrow(
      /no workspace "nowhere"/,
    );
  });
});
