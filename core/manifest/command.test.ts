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
    'restart_on_failure: unknown key; expected one of exec, argv, envp, cwd, label, restart, ' +
      'restartOnFailure, backoffMs, backoffMsMax, crashLoopMax, crashLoopWindowMs, ready, ' +
      'readyTimeoutMs, watchdogMs, dependsOn, user, group, logs',
  ],
  [
    'a log file size under one page',
    { exec: '/x', logs: { maxBytes: 100 } },
    "logs.maxBytes: expected 0 (the daemon's default) or 4096 to 1099511627776, got 100",
  ],
  [
    'too many log files',
    { exec: '/x', logs: { keep: 101 } },
    "logs.keep: expected 0 (the daemon's default) or 1 to 100, got 101",
  ],
  [
    'a snake_case log key',
    { exec: '/x', logs: { max_bytes: 8192 } },
    'logs.max_bytes: unknown key; expected one of maxBytes, keep',
  ],
  [
    'a restart that contradicts restartOnFailure',
    { exec: '/x', restart: 'no', restartOnFailure: true },
    'restartOnFailure: true contradicts restart = "no"; send only restart',
  ],
  [
    'a backoff cap under the first backoff',
    { exec: '/x', backoffMs: 500, backoffMsMax: 100 },
    'backoffMsMax: expected at least backoffMs (500), got 100',
  ],
  [
    'a ready timeout without notify',
    { exec: '/x', readyTimeoutMs: 100 },
    'readyTimeoutMs: 100 needs ready = "notify" (with "exec" it is ready at once)',
  ],
  [
    'a command that depends on itself',
    { exec: '/x', label: 'a', dependsOn: ['a'] },
    `dependsOn[0]: "a" is this command's own label`,
  ],
  [
    'a crash-loop guard with no window',
    { exec: '/x', crashLoopWindowMs: 0 },
    'crashLoopWindowMs: expected a positive window when crashLoopMax > 0, got 0',
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
        restart: 'no',
        restartOnFailure: false,
        backoffMs: 200,
        backoffMsMax: 30_000,
        crashLoopMax: 3,
        crashLoopWindowMs: 300_000,
        ready: 'exec',
        readyTimeoutMs: 0,
        watchdogMs: 0,
        dependsOn: [],
        user: '',
        group: '',
      },
    });
  });

  it.each([
    [{ restartOnFailure: true }, 'on-failure'],
    [{ restartOnFailure: false }, 'no'],
    [{ restart: 'always' }, 'always'],
    [{ restart: 'always', restartOnFailure: true }, 'always'],
  ])('reads the restart mode of %j as %s', (over, restart) => {
    const r = validateCommandSpec({ exec: '/bin/true', ...over });
    expect(r.ok ? [r.value.restart, r.value.restartOnFailure] : r).toEqual([
      restart,
      restart !== 'no',
    ]);
  });

  it('keeps every field it is given', () => {
    const spec = {
      exec: '/bin/sleep',
      argv: ['5'],
      envp: ['A=1'],
      cwd: '/tmp',
      label: 'nap',
      restart: 'always',
      restartOnFailure: true,
      backoffMs: 500,
      backoffMsMax: 5000,
      crashLoopMax: 5,
      crashLoopWindowMs: 60_000,
      ready: 'notify',
      readyTimeoutMs: 10_000,
      watchdogMs: 3000,
      dependsOn: ['db', 'cache'],
      user: 'www-data',
      group: 'www-data',
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
