import { colorWanted, paintFor, paintState } from './colors.js';

describe('colour', () => {
  it.each([
    [{}, true, true],
    [{}, false, false],
    [{ NO_COLOR: '1' }, true, false],
    [{ NO_COLOR: '' }, true, true],
    [{ TERM: 'dumb' }, true, false],
    [{ FORCE_COLOR: '1' }, false, true],
    [{ FORCE_COLOR: '1', NO_COLOR: '1' }, false, false],
  ])('env %j on a tty=%s wants colour: %s', (env, tty, wanted) => {
    expect(colorWanted(env, tty)).toBe(wanted);
  });

  it('paints states only when enabled', () => {
    expect(paintState(paintFor(false), 'crash-loop')).toBe('crash-loop');
    expect(paintState(paintFor(true), 'crash-loop')).toBe('\u001b[31mcrash-loop\u001b[39m');
  });
});
