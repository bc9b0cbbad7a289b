import { parseDaemonArgs } from './entry.js';

describe('parseDaemonArgs', () => {
  const base = { ok: true, help: false, init: false };
  it.each([
    [[], base],
    [['--socket', '/s'], { ...base, socketPath: '/s' }],
    [['--socket=/s', '--state=/f'], { ...base, socketPath: '/s', statePath: '/f' }],
    [['--state', '/f', '-h'], { ...base, help: true, statePath: '/f' }],
    [['--init'], { ...base, init: true }],
    [['--apply', '/a.toml'], { ...base, init: true, applyFile: '/a.toml' }],
    [['--init', '--grace=2500'], { ...base, init: true, graceMs: 2500 }],
    [
      ['--grace', 'soon'],
      { ok: false, message: '--grace expects milliseconds (an integer >= 0), got "soon"' },
    ],
    [['--socket'], { ok: false, message: '--socket needs a value' }],
    [['--state='], { ok: false, message: '--state needs a value' }],
    [['--json'], { ok: false, message: 'unknown argument "--json"' }],
  ])('parses %j', (argv, expected) => {
    expect(parseDaemonArgs(argv)).toEqual(expected);
  });
});
