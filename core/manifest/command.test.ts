import fc from 'fast-check';
import { validateCommandSpec } from './command.js';

const REFUSALS: [string, unknown, string][] = [
  ['a missing exec', {}, 'exec: missing; expected a non-empty string'],
  ['an empty exec', { exec: '' }, 'exec: expected a non-empty string, got "" (string)'],
  [
    'a string argv',
    { exec: '/x', argv: 'a b' },
    'argv: expected an array of strings, got "a b" (string)',
  ],
  [
    'a bad ready',
    { exec: '/x', ready: 'socket' },
    'ready: expected one of exec, notify, got "socket" (string)',
  ],
  [
    'a negative watchdog',
    { exec: '/x', watchdogMs: -5 },
    'watchdogMs: expected a non-negative safe integer, got -5 (number)',
  ],
  [
    'a snake_case key',
    { exec: '/x', restart_on_failure: true },
    'restart_on_failure: unknown key; expected one of exec, argv, envp, cwd, label, ' +
      'restartOnFailure, ready, watchdogMs',
  ],
  ['a NUL in exec', { exec: '/bin/\0sh' }, 'exec: must not contain a NUL character'],
  ['null', null, '(root): expected a table, got null'],
];

describe('validateCommandSpec', () => {
  it('fills defaults from an exec alone', () => {
    expect(validateCommandSpec({ exec: '/bin/true' })).toEqual({
      ok: true,
      value: {
        exec: '/bin/true',
        argv: [],
        envp: [],
        cwd: '',
        label: '',
        restartOnFailure: false,
        ready: 'exec',
        watchdogMs: 0,
      },
    });
  });

  it('keeps every field it is given', () => {
    const spec = {
      exec: '/bin/sleep',
      argv: ['5'],
      envp: ['A=1'],
      cwd: '/tmp',
      label: 'nap',
      restartOnFailure: true,
      ready: 'notify',
      watchdogMs: 3000,
    };
    expect(validateCommandSpec(spec)).toEqual({ ok: true, value: spec });
  });

  it.each(REFUSALS)('refuses %s with an exact message', (_what, raw, message) => {
    const result = validateCommandSpec(raw);
    expect(result.ok ? [] : result.issues.map((i) => `${i.path}: ${i.message}`)).toEqual([message]);
  });

  it('never throws on arbitrary JSON-like values', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (raw) => {
        const result = validateCommandSpec(raw);
        expect(result.ok || result.issues.length > 0).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});
