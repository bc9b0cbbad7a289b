import { SPEC_PIPELINE_TOML, SPEC_WORKSPACE_TOML } from '../../testing/fixtures/manifest.js';
import { findLine, pathSegments } from './lines.js';

describe('pathSegments', () => {
  it.each([
    ['label', ['label']],
    ['soma.rlimits.nproc', ['soma', 'rlimits', 'nproc']],
    ['nodes[1].payload.Native.argv[0]', ['nodes', 1, 'payload', 'Native', 'argv', 0]],
  ])('splits %s', (path, want) => {
    expect(pathSegments(path)).toEqual(want);
  });
});

describe('findLine', () => {
  it.each([
    ['label', 1],
    ['ttl', 3],
    ['soma.rlimits', 4],
    ['soma.rlimits.nproc', 6],
    ['soma.rlimits.bogus', 4],
    ['soma.cgroup.path', 17],
    ['quota_enforce.nproc', 20],
  ])('finds %s in the workspace example at line %i', (path, line) => {
    expect(findLine(SPEC_WORKSPACE_TOML, path)).toBe(line);
  });

  it.each([
    ['discern.sample_bytes', 3],
    ['nodes[0].label', 6],
    ['nodes[1].payload.Native.argv[0]', 11],
    ['edges[0].to', 16],
  ])('finds %s in the pipeline example at line %i', (path, line) => {
    expect(findLine(SPEC_PIPELINE_TOML, path)).toBe(line);
  });

  it('says nothing for a path it cannot place', () => {
    expect(findLine(SPEC_PIPELINE_TOML, 'nodes[7].label')).toBeUndefined();
    expect(findLine('', 'label')).toBeUndefined();
  });

  it('reads quoted and dotted keys', () => {
    expect(findLine('[soma]\n"rlimits".nproc = 2\n', 'soma.rlimits.nproc')).toBe(2);
  });
});
