/**
 * doctor's findings: the wording, one per entity, cleared once fixed; and against a real
 * daemon, every `fix:` it prints is run as printed (through a `shipote` on PATH) and
 * succeeds, after which the finding is gone.
 */

import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import type {
  ApiResult,
  CommandView,
  PipelineView,
  Supervisor,
  WorkspaceView,
} from '../../core/engine/api.js';
import type { LifecycleEvent } from '../../core/ports.js';
import { cliCommand, Harness, harnessSkipReason, waitFor } from '../../testing/harness.js';
import { raisedSpec, shellQuote, standingFindings } from './doctor.js';
import type { DoctorView } from './types.js';

jest.setTimeout(90_000);

function stubSupervisor(states: {
  commands?: Record<string, string>;
  pipelines?: Record<string, string>;
  workspaces?: string[];
}): Supervisor {
  const missing = { ok: false, error: { code: 'not_found', message: 'no' } } as const;
  return {
    getCommand: (_ws: string, cmd: string): ApiResult<CommandView> => {
      const state = states.commands?.[cmd];
      return state ? { ok: true, value: { state } as CommandView } : missing;
    },
    getPipeline: (id: string): ApiResult<PipelineView> => {
      const state = states.pipelines?.[id];
      return state ? { ok: true, value: { state } as PipelineView } : missing;
    },
    listWorkspaces: () =>
      (states.workspaces ?? []).map((label) => ({ label, state: 'running' }) as WorkspaceView),
  } as unknown as Supervisor;
}

const ev = (wallMs: number, name: string, fields: LifecycleEvent['fields']): LifecycleEvent => ({
  wallMs,
  ev: name,
  fields,
});

describe('doctor findings', () => {
  const history = [
    ev(1, 'crash-loop', { ws: 'W', cmd: 'C1', label: 'web' }),
    ev(2, 'crash-loop', { ws: 'W', cmd: 'C1', label: 'web' }),
    ev(3, 'give-up', { ws: 'W', pipeline: 'P1', label: 'etl' }),
    ev(4, 'quota-kill', { ws: 'W2', label: 'strict', breach: 'nproc: 3 alive > 2 limit' }),
    ev(5, 'restart', { ws: 'W', cmd: 'C1' }),
  ];

  it('lists each stuck entity once, the newest, with its fix', () => {
    const sup = stubSupervisor({ commands: { C1: 'crash-loop' }, pipelines: { P1: 'gave-up' } });
    expect(standingFindings(history, sup)).toEqual([
      {
        what: 'command web of workspace W is in crash-loop',
        fix: 'shipote restart W C1',
        wallMs: 2,
      },
      {
        what: 'pipeline etl gave up after restart_max restarts',
        fix: 'shipote pipeline restart P1',
        wallMs: 3,
      },
      {
        what: 'workspace strict was killed for exceeding its quota (nproc: 3 alive > 2 limit)',
        fix:
          "printf '%s\\n' 'label = \"strict\"' '[soma.rlimits]' 'nproc = 4' '[quota_enforce]' " +
          '\'nproc = "kill"\' | shipote workspace create /dev/stdin',
        wallMs: 4,
      },
    ]);
  });

  it('clears each finding once fixed: running again, or the workspace created again', () => {
    const sup = stubSupervisor({
      commands: { C1: 'running' },
      pipelines: { P1: 'running' },
      workspaces: ['strict'],
    });
    expect(standingFindings(history, sup)).toEqual([]);
  });

  it('doubles a breached memory limit and keeps kill enforcement', () => {
    expect(raisedSpec('m', 'memory: 12.00 MiB > 10.00 MiB limit')).toBe(
      'label = "m"\n[soma.rlimits]\nmem_bytes = 20971520\n[quota_enforce]\nmem = "kill"\n',
    );
  });

  it('quotes shell words, single quotes included', () => {
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
  });
});

const why = harnessSkipReason();
const maybe = why ? describe.skip : describe;

maybe(`doctor's fixes against a real daemon${why ? ` (skipped: ${why})` : ''}`, () => {
  let h: Harness;
  let bin: string;
  beforeAll(async () => {
    h = new Harness();
    await h.startDaemon();
    bin = join(h.dir, 'bin');
    mkdirSync(bin);
    const argv = [process.execPath, ...cliCommand()].map(shellQuote).join(' ');
    writeFileSync(join(bin, 'shipote'), `#!/bin/sh\nexec ${argv} "$@"\n`);
    chmodSync(join(bin, 'shipote'), 0o755);
  });
  afterAll(async () => h?.close());

  /** doctor exits 1 while it finds a problem: read its JSON either way. */
  const findings = async () => {
    const r = await h.cli(['doctor', '--json']);
    if (r.code !== 0 && r.code !== 1) throw new Error(`doctor exited ${r.code}: ${r.stderr}`);
    return (JSON.parse(r.stdout) as DoctorView).findings;
  };
  const finding = (match: string) =>
    waitFor(`a doctor finding "${match}"`, async () =>
      (await findings()).find((f) => f.what.includes(match)),
    );
  const runFix = (fix: string) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      const env = h.env({ PATH: `${bin}:${process.env.PATH ?? ''}` });
      execFile('/bin/sh', ['-c', fix], { env, cwd: h.dir }, (error, stdout, stderr) => {
        resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
      });
    });
  const gone = (match: string) =>
    waitFor(`the finding "${match}" to clear`, async () =>
      (await findings()).every((f) => !f.what.includes(match)),
    );

  it('the fix of a crash-looping command restarts it and the finding clears', async () => {
    writeFileSync(join(h.dir, 'ws.toml'), 'label = "dw"\n');
    expect((await h.cli(['workspace', 'create', join(h.dir, 'ws.toml')])).code).toBe(0);
    const mark = join(h.dir, 'fixed');
    const script = `test -e ${mark} && exec sleep 1000; exit 1`;
    const run = ['run', 'dw', '--label', 'flaky', '--restart-on-failure', '--', 'sh', '-c', script];
    expect((await h.cli(run)).code).toBe(0);
    const f = await finding('command flaky');
    writeFileSync(mark, '');
    const r = await runFix(f.fix);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    await gone('command flaky');
  });

  it('the fix of a quota kill creates the workspace again and the finding clears', async () => {
    const spec = 'label = "q"\n[soma.rlimits]\nnproc = 1\n[quota_enforce]\nnproc = "kill"\n';
    writeFileSync(join(h.dir, 'q.toml'), spec);
    expect((await h.cli(['workspace', 'create', join(h.dir, 'q.toml')])).code).toBe(0);
    for (const label of ['a', 'b']) {
      await h.cli(['run', 'q', '--label', label, '--', 'sleep', '1000']);
    }
    const f = await finding('workspace q was killed');
    expect(f.what).toBe(
      'workspace q was killed for exceeding its quota (nproc: 2 alive > 1 limit)',
    );
    const r = await runFix(f.fix);
    expect(r.code).toBe(0);
    const made = await h.json<WorkspaceView[]>(['workspace', 'list']);
    expect(made.find((w) => w.label === 'q')?.spec).toMatchObject({
      rlimits: { nproc: 2 },
      quotaEnforce: { nproc: 'kill' },
    });
    await gone('workspace q was killed');
  });

  it('the fix of a pipeline that gave up restarts it and the finding clears', async () => {
    const mark = join(h.dir, 'pl-fixed');
    const script = `test -e ${mark} && exec sleep 1000; exit 1`;
    const node = `payload.Native = { exec = "/bin/sh", argv = ["-c", "${script}"], envp = [] }`;
    const spec = [
      'label = "quitter"',
      'workspace = "dw"',
      'restart_on_failure = true',
      'restart_backoff_ms = 50',
      'restart_max = 1',
      '[[nodes]]',
      'label = "n"',
      node,
    ].join('\n');
    writeFileSync(join(h.dir, 'pl.toml'), spec);
    expect((await h.cli(['pipeline', 'run', join(h.dir, 'pl.toml')])).code).toBe(0);
    const f = await finding('pipeline quitter gave up');
    writeFileSync(mark, '');
    const r = await runFix(f.fix);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    await gone('pipeline quitter');
  });
});
