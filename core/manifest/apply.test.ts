import { type ApplySources, findCycle, parseApplyToml, SERVICE_DEFAULTS } from './apply.js';
import { formatIssues } from './issues.js';

/** A tiny dotenv reading for the tests (the daemon hands in the dotenv package's parse). */
function parseEnv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*"?([^"]*)"?\s*$/.exec(line);
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

function sources(files: Record<string, string> = {}): ApplySources {
  return {
    baseDir: '/srv/app',
    parseEnv,
    findExec: (name, pathVar) =>
      name === 'node' && pathVar.includes('/usr/bin') ? '/usr/bin/node' : null,
    readText: (path) => {
      const text = files[path];
      return text === undefined ? { ok: false, message: 'no such file' } : { ok: true, text };
    },
  };
}

const FULL = `
[[workspaces]]
label = "web"
[workspaces.soma.rlimits]
nofile = 256

[[services]]
label = "db"
workspace = "web"
exec = "/usr/bin/db"
ready = "notify"
ready_timeout_ms = 5000
restart = "always"

[[services]]
label = "api"
workspace = "web"
exec = "/usr/bin/node"
argv = ["server.js"]
cwd = "api"
env = { PORT = "8080", MODE = "prod" }
env_file = ".env"
restart = "on-failure"
backoff_ms = 100
max_backoff_ms = 1000
crash_loop_max = 5
crash_loop_window_ms = 60000
watchdog_ms = 2000
depends_on = ["db"]

[[pipelines]]
label = "echo"
workspace = "web"
vars = { WORD = "hi" }
[[pipelines.nodes]]
label = "p"
payload.Native = { exec = "/bin/echo", argv = ["\${WORD}"], envp = [] }

[[pipelines]]
file = "etl.toml"
vars = { WS = "web" }

[[workers]]
name = "mailer"
workspace = "web"
exec = "/usr/bin/mail-one"
`;

const ETL = `
label = "etl"
workspace = "\${WS}"
[[nodes]]
label = "cat"
payload.Native = { exec = "/bin/cat", argv = [], envp = [] }
`;

describe('parseApplyToml', () => {
  it('reads every kind of entry with its fields and fills the defaults', () => {
    const files = { '/srv/app/.env': 'MODE=dev\nSECRET="s3"\n', '/srv/app/etl.toml': ETL };
    const result = parseApplyToml(FULL, sources(files));
    if (!result.ok) throw new Error(formatIssues(result.issues));
    const doc = result.value;
    expect(doc.workspaces.map((w) => [w.label, w.rlimits.nofile])).toEqual([['web', 256]]);
    const [db, api] = doc.services;
    expect(db).toMatchObject({
      label: 'db',
      restart: 'always',
      ready: 'notify',
      readyTimeoutMs: 5000,
      backoffMs: SERVICE_DEFAULTS.backoffMs,
      backoffMsMax: SERVICE_DEFAULTS.backoffMsMax,
      crashLoopMax: SERVICE_DEFAULTS.crashLoopMax,
      crashLoopWindowMs: SERVICE_DEFAULTS.crashLoopWindowMs,
      cwd: '',
      user: '',
      dependsOn: [],
    });
    expect(api).toMatchObject({
      cwd: '/srv/app/api',
      restart: 'on-failure',
      backoffMs: 100,
      backoffMsMax: 1000,
      crashLoopMax: 5,
      crashLoopWindowMs: 60000,
      watchdogMs: 2000,
      dependsOn: ['db'],
    });
    // env wins over env_file; PATH defaults; sorted.
    expect(api?.envp).toEqual([
      'MODE=prod',
      `PATH=${SERVICE_DEFAULTS.path}`,
      'PORT=8080',
      'SECRET=s3',
    ]);
    expect(doc.pipelines.map((p) => p.spec.label)).toEqual(['echo', 'etl']);
    expect(doc.pipelines[0]?.spec.nodes[0]?.payload.argv).toEqual(['hi']);
    expect(doc.pipelines[1]?.spec.workspace).toBe('web');
    expect(doc.pipelines[1]?.source).toBe(ETL);
    expect(doc.workers).toEqual([
      {
        name: 'mailer',
        workspace: 'web',
        exec: '/usr/bin/mail-one',
        argv: [],
        cwd: '',
        envp: [`PATH=${SERVICE_DEFAULTS.path}`],
      },
    ]);
  });

  it('refuses a bad file whole, with every issue and its line', () => {
    const text = [
      '[[workspaces]]', // 1
      'label = ""', // 2
      '[[services]]', // 3
      'label = "a"', // 4
      'workspace = "w"', // 5
      'exec = "/bin/true"', // 6
      'restart = "sometimes"', // 7
      'backoff_ms = -1', // 8
      'depends_on = ["ghost"]', // 9
      'colour = "red"', // 10
      '[[services]]', // 11
      'label = "a"', // 12
      'workspace = "w"', // 13
      'exec = ""', // 14
    ].join('\n');
    const result = parseApplyToml(text, sources());
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(formatIssues(result.issues).split('\n')).toEqual([
      'workspaces[0].label: expected a non-empty string, got "" (string) (line 2)',
      'services[0].colour: unknown key; expected one of label, workspace, exec, argv, cwd, env, ' +
        'env_file, user, group, restart, backoff_ms, max_backoff_ms, crash_loop_max, ' +
        'crash_loop_window_ms, ready, ready_timeout_ms, watchdog_ms, depends_on, logs (line 10)',
      'services[0].restart: expected one of no, on-failure, always, got "sometimes" (string) ' +
        '(line 7)',
      'services[0].backoff_ms: expected a non-negative safe integer, got -1 (number) (line 8)',
      'services[1].exec: expected a non-empty string, got "" (string) (line 14)',
      'services[1].label: duplicate "w/a" (first at services[0]) (line 12)',
      'services[0].depends_on[0]: no service "ghost" in workspace "w" of this file (line 9)',
    ]);
  });

  it.each([
    ['a TOML syntax error', 'x = = 1', '(toml)'],
    ['an unknown top-level key', 'service = 1', 'service'],
    ['services that is not an array of tables', 'services = 3', 'services'],
    ['a label with a space', '[[workspaces]]\nlabel = "a b"', 'workspaces[0].label'],
  ])('refuses %s', (_what, text, path) => {
    const result = parseApplyToml(text, sources());
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.issues.map((i) => i.path)).toContain(path);
  });

  it('reports a dependency cycle with its members', () => {
    const text = ['a', 'b', 'c']
      .map((label, i) =>
        [
          '[[services]]',
          `label = "${label}"`,
          'workspace = "w"',
          'exec = "/bin/true"',
          `depends_on = ["${['b', 'c', 'a'][i]}"]`,
        ].join('\n'),
      )
      .join('\n');
    const result = parseApplyToml(text, sources());
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues).toEqual([
      {
        path: 'services[0].depends_on',
        message: 'dependency cycle: w/a -> w/b -> w/c -> w/a',
        line: 5,
      },
    ]);
  });

  it("names an env_file or pipeline file it cannot read, and a bad pipeline file's line", () => {
    const text = [
      '[[services]]',
      'label = "a"',
      'workspace = "w"',
      'exec = "/bin/true"',
      'env_file = "missing.env"',
      '[[pipelines]]',
      'file = "bad.toml"',
      '[[pipelines]]',
      'file = "gone.toml"',
    ].join('\n');
    const bad = 'label = "p"\nworkspace = "w"\n[[nodes]]\nlabel = 3\n';
    const result = parseApplyToml(text, sources({ '/srv/app/bad.toml': bad }));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(formatIssues(result.issues).split('\n')).toEqual([
      'services[0].env_file: cannot read "missing.env": no such file (line 5)',
      'pipelines[0].file: bad.toml:4: nodes[0].label: expected a non-empty string, got 3 ' +
        '(number) (line 7)',
      'pipelines[0].file: bad.toml:3: nodes[0].payload: missing; expected a table with a ' +
        'Native entry (line 7)',
      'pipelines[1].file: cannot read "gone.toml": no such file (line 9)',
    ]);
  });

  it('resolves a bare exec in the service PATH, and names one it cannot find', () => {
    const text = [
      '[[services]]',
      'label = "a"',
      'workspace = "w"',
      'exec = "node"',
      '[[services]]',
      'label = "b"',
      'workspace = "w"',
      'exec = "nodejs"',
      'env = { PATH = "/opt/bin" }',
    ].join('\n');
    const result = parseApplyToml(text, sources());
    expect(result.ok ? [] : formatIssues(result.issues)).toBe(
      'services[1].exec: "nodejs" is not an executable in PATH=/opt/bin (line 8)',
    );
    const one = parseApplyToml(text.split('\n').slice(0, 4).join('\n'), sources());
    expect(one.ok && one.value.services[0]?.exec).toBe('/usr/bin/node');
  });

  it('names a workspace that is neither in the file nor running, beside the other issues', () => {
    const text = [
      '[[services]]',
      'label = "a"',
      'workspace = "nope"',
      'exec = "/bin/true"',
      'restart = "maybe"',
      '[[services]]',
      'label = "b"',
      'workspace = "live"',
      'exec = "/bin/true"',
    ].join('\n');
    const result = parseApplyToml(text, { ...sources(), liveWorkspaces: ['live'] });
    expect(result.ok ? [] : formatIssues(result.issues).split('\n')).toEqual([
      'services[0].restart: expected one of no, on-failure, always, got "maybe" (string) (line 5)',
      'services[0].workspace: no workspace "nope" in this file or in the daemon (line 3)',
    ]);
  });

  it('refuses max_backoff_ms below backoff_ms', () => {
    const text =
      '[[services]]\nlabel="a"\nworkspace="w"\nexec="/x"\nbackoff_ms=500\nmax_backoff_ms=100';
    const result = parseApplyToml(text, sources());
    expect(result.ok ? [] : formatIssues(result.issues)).toBe(
      'services[0].max_backoff_ms: expected at least backoff_ms (500), got 100 (line 6)',
    );
  });
});

it('refuses a crash-loop guard with a zero window', () => {
  const text = '[[services]]\nlabel="a"\nworkspace="w"\nexec="/x"\ncrash_loop_window_ms=0';
  const result = parseApplyToml(text, sources());
  expect(result.ok ? [] : formatIssues(result.issues)).toBe(
    'services[0].crash_loop_window_ms: expected a window above 0 when crash_loop_max is set ' +
      '(0 turns it off) (line 5)',
  );
});

describe('findCycle', () => {
  const svc = (label: string, dependsOn: string[]) => ({
    label,
    workspace: 'w',
    exec: '/x',
    argv: [],
    cwd: '',
    envp: [],
    user: '',
    group: '',
    restart: 'no' as const,
    backoffMs: 0,
    backoffMsMax: 0,
    crashLoopMax: 0,
    crashLoopWindowMs: 0,
    ready: 'exec' as const,
    readyTimeoutMs: 0,
    watchdogMs: 0,
    dependsOn,
    logs: { maxBytes: 0, keep: 0 },
  });

  it('finds none in a diamond and finds a self-dependency', () => {
    const diamond = [svc('a', ['b', 'c']), svc('b', ['d']), svc('c', ['d']), svc('d', [])];
    expect(findCycle(diamond)).toBeNull();
    expect(findCycle([svc('a', ['a'])])).toEqual(['w/a', 'w/a']);
  });
});
