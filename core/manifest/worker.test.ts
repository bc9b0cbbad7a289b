import { validateWorkerSpec, type WorkerSpec, workerApplyAction } from './worker.js';

describe('worker spec', () => {
  it('fills the defaults: 200 ms doubling to 30 s, no timeout, 3 failures in 5 min', () => {
    const r = validateWorkerSpec({ name: 'mail', exec: '/bin/cat' });
    expect(r).toEqual({
      ok: true,
      value: {
        name: 'mail',
        exec: '/bin/cat',
        argv: [],
        envp: [],
        cwd: '',
        backoffMsInitial: 200,
        backoffMsMax: 30_000,
        timeoutMs: 0,
        killGraceMs: 5000,
        crashLoopMax: 3,
        crashLoopWindowMs: 300_000,
      },
    });
  });

  it.each([
    [{ exec: '/bin/cat', name: 'a b' }, 'name', `got "a b"`],
    [{ exec: '/bin/cat', name: 'x'.repeat(64) }, 'name', 'expected 1-63 characters'],
    [{ name: 'w' }, 'exec', 'missing'],
    [{ name: 'w', exec: 'x', timeoutMs: -1 }, 'timeoutMs', 'expected a non-negative safe integer'],
    [{ name: 'w', exec: 'x', killGraceMs: 1.5 }, 'killGraceMs', 'expected a non-negative'],
    [{ name: 'w', exec: 'x', backoffMsMax: 100 }, 'backoffMsMax', 'at least backoffMsInitial'],
    [{ name: 'w', exec: 'x', crashLoopMax: 0 }, 'crashLoopMax', 'expected at least 1, got 0'],
    [{ name: 'w', exec: 'x', queue: 1 }, 'queue', ''],
  ])('refuses %j naming the field %s', (raw, field, words) => {
    const r = validateWorkerSpec(raw);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.issues[0]?.path).toBe(field);
    expect(r.issues[0]?.message).toContain(words);
  });

  it.each([
    ['no worker of that name', null, 'create'],
    ['the same worker', {}, 'unchanged'],
    ['another timeout', { timeoutMs: 5 }, 'replace'],
    ['another kill grace', { killGraceMs: 0 }, 'replace'],
    ['other arguments', { argv: ['-n'] }, 'replace'],
  ] as [string, Partial<WorkerSpec> | null, string][])('apply: %s → %s', (_what, over, want) => {
    const spec = validateWorkerSpec({ name: 'w', exec: '/bin/cat' });
    if (!spec.ok) throw new Error('bad fixture');
    const existing = over === null ? null : { ...spec.value, ...over };
    expect(workerApplyAction(spec.value, existing)).toBe(want);
  });
});
