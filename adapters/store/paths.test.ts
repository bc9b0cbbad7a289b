import { eventLogPathFor, intFromEnv, resolveSocketPath, resolveStatePath } from './paths.js';

describe('resolveStatePath', () => {
  it.each([
    [{ XDG_STATE_HOME: '/x', HOME: '/h' }, undefined, '/x/shipote/state.json'],
    [{ HOME: '/h' }, undefined, '/h/.local/state/shipote/state.json'],
    [{}, undefined, '/tmp/shipote-1000/state.json'],
    [{ SHIPOTE_STATE: '/s.json', XDG_STATE_HOME: '/x' }, undefined, '/s.json'],
    [{ SHIPOTE_STATE: '/s.json' }, '/flag.json', '/flag.json'],
  ])('falls back in the contract order for env %j and flag %s', (env, flag, expected) => {
    expect(resolveStatePath(env, 1000, flag)).toBe(expected);
  });

  it('puts the event log next to the snapshot', () => {
    expect(eventLogPathFor('/x/shipote/state.json')).toBe('/x/shipote/events.log');
  });
});

describe('resolveSocketPath', () => {
  it.each([
    [{ SHIPOTE_SOCKET: '/s.sock', XDG_RUNTIME_DIR: '/run/u' }, 1000, undefined, '/s.sock'],
    [{ XDG_RUNTIME_DIR: '/run/user/1000' }, 1000, undefined, '/run/user/1000/shipote/shipote.sock'],
    [{}, 1000, undefined, '/tmp/shipote-1000/shipote.sock'],
    [{ SHIPOTE_SOCKET: '/s.sock' }, 1000, '/flag.sock', '/flag.sock'],
    // root talks to the system unit (%t = /run), even from a login session with its own dir
    [{ XDG_RUNTIME_DIR: '/run/user/0' }, 0, undefined, '/run/shipote/shipote.sock'],
    [{}, 0, undefined, '/run/shipote/shipote.sock'],
    [{ SHIPOTE_SOCKET: '/s.sock' }, 0, undefined, '/s.sock'],
  ])(
    'falls back in the contract order for env %j, uid %d and flag %s',
    (env, uid, flag, expected) => {
      expect(resolveSocketPath(env, uid, flag)).toBe(expected);
    },
  );
});

describe('intFromEnv', () => {
  it.each([
    [undefined, 7],
    ['', 7],
    ['12', 12],
    ['-1', 7],
    ['1.5', 7],
    ['lots', 7],
  ])('reads %j as %i with default 7', (raw, expected) => {
    expect(intFromEnv({ K: raw }, 'K', 7)).toBe(expected);
  });
});
