/**
 * Type tests for the public snapshot types: the assertions below fail `tsc` when a
 * contract drifts; the runtime test checks the same facts on a value.
 */

import type { StatsSample } from '../engine/api.js';
import { emptySnapshot, SNAPSHOT_VERSION, type Snapshot } from './index.js';

type Equals<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type Assert<T extends true> = T;

type VersionIsLiteral = Assert<Equals<Snapshot['version'], 5>>;
type StatsUseEngineSamples = Assert<Equals<Snapshot['stats'][number]['samples'], StatsSample[]>>;
type ConstantMatchesType = Assert<Equals<typeof SNAPSHOT_VERSION, 5>>;

describe('snapshot types', () => {
  it('match the contract at compile time', () => {
    const checks: [VersionIsLiteral, StatsUseEngineSamples, ConstantMatchesType] = [
      true,
      true,
      true,
    ];
    expect(checks).toHaveLength(3);
  });

  it('the empty snapshot carries the current version and nothing else', () => {
    const s: Snapshot = emptySnapshot();
    expect(s.version).toBe(SNAPSHOT_VERSION);
    expect(Object.keys(s).sort()).toEqual([
      'commands',
      'livePipelines',
      'savedPipelines',
      'stats',
      'version',
      'workspaces',
    ]);
  });

  it('hands out a fresh snapshot each time', () => {
    const a = emptySnapshot();
    a.workspaces.push({ id: 'x' } as Snapshot['workspaces'][number]);
    expect(emptySnapshot().workspaces).toEqual([]);
  });
});
