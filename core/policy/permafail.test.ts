import { GIVE_UP_MESSAGE, permanentFailure } from './permafail.js';

describe('permanent failure', () => {
  it.each([
    [0, 0, false],
    [1000, 0, false],
    [2, 3, false],
    [3, 3, true],
    [4, 3, true],
  ])('after %i restarts with restart_max %i the verdict is %s', (restarts, max, verdict) => {
    expect(permanentFailure(restarts, max)).toBe(verdict);
  });

  it('words the give-up event as the spec says', () => {
    expect(GIVE_UP_MESSAGE).toBe('restart_max reached — giving up');
  });
});
