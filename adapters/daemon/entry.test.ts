import { parseDaemonArgs } from './entry.js';

describe('parseDaemonArgs', () => {
  it.each([
    [[], { ok: true, help: false }],
    [['--socket', '/s'], { ok: true, help: false, socketPath: '/s' }],
    [['--socket=/s', '--state=/f'], { ok: true, help: false, socketPath: '/s', statePath: '/f' }],
    [['--state', '/f', '-h'], { ok: true, help: true, statePath: '/f' }],
    [['--socket'], { ok: false, message: '--socket needs a value' }],
    [['--state='], { ok: false, message: '--state needs a value' }],
    [['--json'], { ok: false, message: 'unknown argument "--json"' }],
  ])('parses %j', (argv, expected) => {
    expect(parseDaemonArgs(argv)).toEqual(expected);
  });
});
