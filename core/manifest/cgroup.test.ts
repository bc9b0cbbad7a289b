import { checkCgroupPath } from './cgroup.js';

describe('checkCgroupPath', () => {
  it.each(['', 'shipote', 'shipote/bounded', 'a/b-c_d.e/f'])('accepts %j', (path) => {
    expect(checkCgroupPath(path)).toBeNull();
  });

  it.each([
    ['/sys/fs/cgroup/x', "expected a path relative to the daemon's cgroup, not an absolute path"],
    ['..', "must not contain '..' segments (it would escape the daemon's subtree)"],
    ['a/../../b', "must not contain '..' segments (it would escape the daemon's subtree)"],
    ['a/./b', "must not contain '.' segments"],
    ['a//b', 'must not contain empty segments'],
    ['a/', 'must not contain empty segments'],
    ['a\0b', 'must not contain a NUL character'],
    ['a:b', "must not contain ':' (cgroup handles join paths with it)"],
    ['a\nb', 'must not contain a control character (cgroup files are read line by line)'],
    ['a\rb', 'must not contain a control character (cgroup files are read line by line)'],
    ['a\tb', 'must not contain a control character (cgroup files are read line by line)'],
    ['a\u007fb', 'must not contain a control character (cgroup files are read line by line)'],
  ])('refuses %j', (path, why) => {
    expect(checkCgroupPath(path)).toEqual({
      path: 'soma.cgroup.path',
      message: `${why}, got ${JSON.stringify(path)}`,
    });
  });
});
