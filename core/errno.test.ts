import { reasonForErrnoName } from './errno.js';

describe('reasonForErrnoName', () => {
  it.each([
    ['ENOENT', 'NotFound'],
    ['ESRCH', 'NotFound'],
    ['EACCES', 'PermissionDenied'],
    ['EPERM', 'PermissionDenied'],
    ['EBUSY', 'Busy'],
    ['EAGAIN', 'Busy'],
    ['EEXIST', 'Exists'],
    ['EINVAL', 'InvalidArgument'],
    ['ENOMEM', 'LimitExceeded'],
    ['ENOSPC', 'LimitExceeded'],
    ['ENOSYS', 'Unsupported'],
    ['EXDEV', 'Unknown'],
    [undefined, 'Unknown'],
  ] as const)('maps %s to %s', (name, reason) => {
    expect(reasonForErrnoName(name)).toBe(reason);
  });
});
