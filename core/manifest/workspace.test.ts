import fc from 'fast-check';
import { noNamespaces, workspaceSpec } from './defaults.js';
import { validateWorkspaceSpec } from './workspace.js';

const minimal = { label: 'w' };

const REFUSALS: [string, unknown, string][] = [
  ['label', {}, 'label: missing; expected a non-empty string'],
  ['label', { label: '' }, 'label: expected a non-empty string, got "" (string)'],
  ['label', { label: 42 }, 'label: expected a non-empty string, got 42 (number)'],
  [
    'on_exit',
    { ...minimal, on_exit: 'kill' },
    'on_exit: expected one of reap, wait, got "kill" (string)',
  ],
  ['ttl', { ...minimal, ttl: 1.5 }, 'ttl: expected a non-negative safe integer, got 1.5 (number)'],
  [
    'ttl',
    { ...minimal, ttl: '30s' },
    'ttl: expected a non-negative safe integer, got "30s" (string)',
  ],
  [
    'rlimits',
    { ...minimal, soma: { rlimits: { mem: 5 } } },
    'soma.rlimits.mem: unknown key; expected one of mem_bytes, nproc, nofile',
  ],
  [
    'namespaces',
    { ...minimal, soma: { namespaces: { pid: 'yes' } } },
    'soma.namespaces.pid: expected a boolean, got "yes" (string)',
  ],
  [
    'soma',
    { ...minimal, soma: { rlimit: {} } },
    'soma.rlimit: unknown key; expected one of rlimits, namespaces, cgroup',
  ],
  ['soma table', { ...minimal, soma: 3 }, 'soma: expected a table, got 3 (number)'],
  [
    'quota_enforce',
    { ...minimal, quota_enforce: { mem: 'stop' } },
    'quota_enforce.mem: expected one of none, log, kill, got "stop" (string)',
  ],
  [
    'root keys',
    { ...minimal, labels: 'x' },
    'labels: unknown key; expected one of label, on_exit, ttl, soma, quota_enforce',
  ],
  [
    'cgroup escape',
    { ...minimal, soma: { cgroup: { path: 'a/../../b' } } },
    "soma.cgroup.path: must not contain '..' segments (it would escape the daemon's subtree), " +
      'got "a/../../b"',
  ],
  ['the root', [], '(root): expected a table, got an array of 0'],
];

describe('validateWorkspaceSpec', () => {
  it('fills every default from a label alone', () => {
    expect(validateWorkspaceSpec(minimal)).toEqual({
      ok: true,
      value: {
        label: 'w',
        onExit: 'reap',
        ttlMs: 0,
        rlimits: { memBytes: 0, nproc: 0, nofile: 0 },
        namespaces: {
          user: false,
          pid: false,
          mount: false,
          net: false,
          uts: false,
          ipc: false,
          cgroup: false,
        },
        cgroupPath: '',
        quotaEnforce: { mem: 'none', nproc: 'none' },
      },
    });
  });

  it('agrees with the shared defaults builders that fakes and the simulator use', () => {
    expect(validateWorkspaceSpec(minimal)).toEqual({ ok: true, value: workspaceSpec(minimal) });
    expect(workspaceSpec(minimal).namespaces).toEqual(noNamespaces());
    expect(workspaceSpec(minimal).namespaces).not.toBe(workspaceSpec(minimal).namespaces);
  });

  it.each([
    ['Kill', 'kill'],
    ['LOG', 'log'],
    ['none', 'none'],
  ])('reads quota_enforce %s case-insensitively as %s', (given, want) => {
    const result = validateWorkspaceSpec({ label: 'w', quota_enforce: { mem: given } });
    expect(result.ok && result.value.quotaEnforce.mem).toBe(want);
  });

  it.each(REFUSALS)('refuses a bad %s with an exact message', (_what, raw, message) => {
    const result = validateWorkspaceSpec(raw);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.issues.map((i) => `${i.path}: ${i.message}`)).toEqual([message]);
    }
  });

  it('reports every problem at once', () => {
    const result = validateWorkspaceSpec({ ttl: -1, soma: { rlimits: { nproc: 'x' } } });
    expect(result.ok ? [] : result.issues.map((i) => i.path)).toEqual([
      'label',
      'ttl',
      'soma.rlimits.nproc',
    ]);
  });
});

describe('validateWorkspaceSpec on random input', () => {
  it('never throws on arbitrary JSON-like values', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (raw) => {
        const result = validateWorkspaceSpec(raw);
        expect(result.ok || result.issues.length > 0).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('never throws on near-valid objects with random field values', () => {
    const anything = fc.anything({ maxDepth: 2 });
    const raw = fc.record(
      {
        label: anything,
        ttl: anything,
        soma: fc.record({ rlimits: anything, namespaces: anything, cgroup: anything }),
        quota_enforce: anything,
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(raw, (value) => {
        const result = validateWorkspaceSpec(value);
        expect(result.ok || result.issues.length > 0).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});
