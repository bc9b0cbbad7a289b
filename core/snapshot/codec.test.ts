import fc from 'fast-check';
import {
  PIPELINE_SPEC,
  V1_TEXT,
  V2_TEXT,
  V3_TEXT,
  V4_TEXT,
  V5_TEXT,
  WORKSPACE_SPEC,
} from '../../testing/fixtures/snapshot.js';
import type { StatsSample } from '../engine/api.js';
import type { CommandSpec, PipelineSpec, WorkspaceSpec } from '../manifest/types.js';
import { decodeSnapshot, encodeSnapshot, migrate, packOlder } from './codec.js';
import { emptySnapshot, SNAPSHOT_VERSION, type Snapshot } from './types.js';
import { packV5 } from './v5.js';

function decoded(text: string): Snapshot {
  const result = decodeSnapshot(text);
  if (!result.ok) throw new Error(result.message);
  return result.snapshot;
}

function failure(text: string): { reason: string; message: string } {
  const result = decodeSnapshot(text);
  if (result.ok) throw new Error('expected a refusal');
  return { reason: result.reason, message: result.message };
}

describe('snapshot migration', () => {
  it.each([
    [1, V1_TEXT, [1, 0, 0, 0, 0]],
    [2, V2_TEXT, [1, 1, 0, 0, 0]],
    [3, V3_TEXT, [1, 1, 1, 0, 0]],
    [4, V4_TEXT, [1, 1, 1, 1, 0]],
    [5, V5_TEXT, [1, 1, 1, 0, 1]],
  ])('loads a v%i file with the parts it lacks empty', (version, text, counts) => {
    const result = decodeSnapshot(text);
    expect(result.ok && result.fromVersion).toBe(version);
    const s = decoded(text);
    expect(s.version).toBe(5);
    const lists = [s.workspaces, s.savedPipelines, s.livePipelines, s.stats, s.commands];
    const got = lists.map((l) => l.length);
    expect(got).toEqual(counts);
    expect(s.workspaces[0]?.spec).toEqual(WORKSPACE_SPEC);
  });

  it('keeps the live pipeline of a v3 file whole', () => {
    expect(decoded(V3_TEXT).livePipelines).toEqual([
      {
        id: '01HZX0000000000000000000BB',
        spec: PIPELINE_SPEC,
        source: 'label = "x"',
        vars: { WS: 'strict' },
        tap: true,
        restarts: 2,
        backoffMs: 800,
      },
    ]);
  });

  it.each([
    ['v1', (s: Snapshot) => packOlder.v1({ version: 1, workspaces: s.workspaces })],
    [
      'v2',
      (s: Snapshot) =>
        packOlder.v2({ version: 2, workspaces: s.workspaces, savedPipelines: s.savedPipelines }),
    ],
    ['v3', (s: Snapshot) => packOlder.v3({ ...s, version: 3 })],
    ['v4', (s: Snapshot) => packOlder.v4({ ...s, version: 4 })],
  ])('round-trips the %s layout through pack and migrate', (_v, pack) => {
    const full = decoded(V4_TEXT);
    const result = migrate(JSON.parse(JSON.stringify(pack(full))));
    expect(result.ok).toBe(true);
    const back = result.ok ? result.snapshot : emptySnapshot();
    expect(back.workspaces).toEqual(full.workspaces);
  });

  it.each([
    ['v4', V4_TEXT],
    ['v5', V5_TEXT],
  ])('round-trips a %s file to the same text', (_v, file) => {
    const text = encodeSnapshot(decoded(file));
    expect(encodeSnapshot(decoded(text))).toBe(text);
  });

  it('keeps a v5 command whole, its restart mode deriving restartOnFailure', () => {
    const [cmd] = decoded(V5_TEXT).commands;
    expect(cmd).toMatchObject({ id: '01HZX0000000000000000000CC', restarts: 1, backoffMs: 400 });
    expect(cmd?.spec).toMatchObject({ label: 'web', restart: 'always', restartOnFailure: true });
    expect(encodeSnapshot(decoded(V5_TEXT))).not.toContain('restartOnFailure":true,"user');
  });

  it("keeps a command's log rotation within v5, and a file without one reads as defaults", () => {
    expect(decoded(V5_TEXT).commands[0]?.spec.logs).toBeUndefined();
    const withLogs = V5_TEXT.replace(
      '"backoffMsMax": 30000',
      '"backoffMsMax": 30000, "logs": { "maxBytes": 8192, "keep": 2 }',
    );
    const back = decoded(encodeSnapshot(decoded(withLogs)));
    expect(back.version).toBe(5);
    expect(back.commands[0]?.spec.logs).toEqual({ maxBytes: 8192, keep: 2 });
    const bad = withLogs.replace('"keep": 2', '"keep": "two"');
    expect(failure(bad).message).toBe(
      'snapshot is corrupt: commands[0].spec.logs.keep: expected a non-negative safe integer, ' +
        'got "two" (string)',
    );
    expect(failure(withLogs.replace('"keep": 2', '"keep": 1000')).message).toBe(
      "snapshot is corrupt: commands[0].spec.logs.keep: expected 0 (the daemon's default) " +
        'or 1 to 100, got 1000',
    );
  });

  it('refuses a v5 command whose backoff cap is under its first backoff', () => {
    const bad = V5_TEXT.replace('"backoffMsMax": 30000', '"backoffMsMax": 10');
    expect(failure(bad).message).toBe(
      'snapshot is corrupt: commands[0].spec.backoffMsMax: below backoffMs (200)',
    );
  });

  it('refuses the very next version, even when its layout reads as the current one', () => {
    const current = encodeSnapshot(decoded(V4_TEXT));
    const next = SNAPSHOT_VERSION + 1;
    const text = current.replace(`"version": ${SNAPSHOT_VERSION},`, `"version": ${next},`);
    expect(text).not.toBe(current);
    expect(failure(text)).toEqual({
      reason: 'newer',
      message:
        `snapshot version ${next} is newer than this shipote understands ` +
        `(${SNAPSHOT_VERSION}); upgrade shipote or move the file aside`,
    });
  });

  it('refuses a newer version with a message that says what to do', () => {
    expect(failure('{"version": 7, "anything": true}')).toEqual({
      reason: 'newer',
      message:
        'snapshot version 7 is newer than this shipote understands (5); ' +
        'upgrade shipote or move the file aside',
    });
  });
});

const CORRUPT: [string, string, string | RegExp][] = [
  ['truncated text', V4_TEXT.slice(0, 200), /^snapshot is not valid JSON: /],
  ['empty text', '', /^snapshot is not valid JSON: /],
  ['a JSON array', '[]', /^snapshot is corrupt: \(root\): expected an object, got an array of 0$/],
  [
    'no version',
    '{"workspaces": []}',
    /^snapshot is corrupt: version: expected an integer from 1 to 5, got nothing$/,
  ],
  [
    'version 0',
    '{"version": 0}',
    /^snapshot is corrupt: version: expected an integer from 1 to 5, got 0$/,
  ],
  ['a string version', '{"version": "4"}', /version: expected an integer from 1 to 5, got "4"$/],
  [
    'missing workspaces',
    '{"version": 1}',
    /^snapshot is corrupt: workspaces: expected an array, got nothing$/,
  ],
];

/** Entry-level damage: the entry is skipped (and named), the rest of the file restored. */
const BAD_ENTRY: [string, string, string | RegExp][] = [
  [
    'a wrong field type',
    V4_TEXT.replace('"restarts": 2', '"restarts": "2"'),
    'livePipelines[0].restarts: ' + 'expected a non-negative safe integer, got "2" (string)',
  ],
  [
    'a bad spec field',
    V1_TEXT.replace('"onExit":"reap"', '"onExit":"explode"'),
    'workspaces[0].spec.onExit: ' + 'expected one of reap, wait, got "explode" (string)',
  ],
  [
    'an escaping cgroup path',
    V1_TEXT.replace('"shipote/bounded"', '"../../etc"'),
    /workspaces\[0\]\.spec\.cgroupPath: must not contain '\.\.' segments/,
  ],
  [
    'a pipeline cycle',
    V3_TEXT.replace(
      '"edges":[{"from":0,"fromOutput":"stdout","to":1,"toInput":"stdin"}]',
      '"edges":[{"from":0,"fromOutput":"stdout","to":1,"toInput":"stdin"},' +
        '{"from":1,"fromOutput":"stdout","to":0,"toInput":"stdin"}]',
    ),
    /livePipelines\[0\]\.spec\.edges\[1\]: cycle: producer -> consumer -> producer$/,
  ],
  [
    'a warning that is not text',
    V1_TEXT.replace('["user namespaces unavailable"]', '[7]'),
    'workspaces[0].warnings[0]: expected a string, got 7 (number)',
  ],
  [
    'a live pipeline without nodes',
    V3_TEXT.replace(/"nodes":\[.*?\],"edges":\[.*?\]/, '"nodes":[],"edges":[]'),
    'livePipelines[0].spec.nodes: expected at least one node, got none',
  ],
  [
    'a duplicate workspace id',
    V1_TEXT.replace(/\[(\{.*\})\]\}$/s, '[$1, $1]}'),
    /^workspaces\[1\]: duplicate "01HZX0000000000000000000AA"$/,
  ],
];

describe('corrupt snapshots', () => {
  it.each(CORRUPT)('refuses %s as corrupt, naming what was wrong', (_what, text, message) => {
    const got = failure(text);
    expect(got.reason).toBe('corrupt');
    if (typeof message === 'string') expect(got.message).toBe(message);
    else expect(got.message).toMatch(message);
  });

  it.each(BAD_ENTRY)('skips only the entry with %s, naming what was wrong', (_w, text, message) => {
    const result = decodeSnapshot(text);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.skipped).toHaveLength(1);
    const got = result.skipped[0]?.message ?? '';
    if (typeof message === 'string') expect(got).toBe(message);
    else expect(got).toMatch(message);
  });

  it('never throws on arbitrary text or JSON', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json()), (text) => {
        const result = decodeSnapshot(text);
        expect(typeof result.ok).toBe('boolean');
      }),
      { numRuns: 500 },
    );
  });

  it('never throws on garbled versions of a valid file', () => {
    fc.assert(
      fc.property(fc.nat(), fc.nat(12), fc.string({ maxLength: 4 }), (at, del, insert) => {
        const i = at % V4_TEXT.length;
        const text = V4_TEXT.slice(0, i) + insert + V4_TEXT.slice(i + del);
        const result = decodeSnapshot(text);
        if (!result.ok) expect(result.message).not.toBe('');
      }),
      { numRuns: 500 },
    );
  });
});

describe('encodeSnapshot', () => {
  it('encodes equal states to equal text whatever their key order', () => {
    const a = decoded(V4_TEXT);
    const live = a.livePipelines[0]!;
    const reordered: Snapshot = {
      stats: a.stats,
      livePipelines: [Object.fromEntries(Object.entries(live).reverse()) as typeof live],
      savedPipelines: a.savedPipelines,
      workspaces: a.workspaces,
      commands: a.commands,
      version: 5,
    };
    expect(encodeSnapshot(reordered)).toBe(encodeSnapshot(a));
  });

  it('keeps only the newest 16 stats samples', () => {
    const s = emptySnapshot();
    const samples = Array.from({ length: 20 }, (_, i) => ({
      wallMs: i,
      rssBytes: 0,
      cpuUs: 0,
      cpuPermille: 0,
    }));
    s.stats.push({ workspaceId: 'w', samples });
    const back = decoded(encodeSnapshot(s));
    expect(back.stats[0]?.samples.map((x) => x.wallMs)).toEqual(
      samples.slice(4).map((x) => x.wallMs),
    );
  });

  it('does not persist fields a caller attached to a spec', () => {
    const s = emptySnapshot();
    const spec = { ...WORKSPACE_SPEC, runtimeHandle: 42 } as WorkspaceSpec;
    s.workspaces.push({ id: 'w', spec, createdAtWallMs: 0, warnings: [] });
    expect(encodeSnapshot(s)).not.toContain('runtimeHandle');
  });

  it('encodes the empty snapshot as a v5 record', () => {
    expect(JSON.parse(encodeSnapshot(emptySnapshot()))).toEqual({
      version: 5,
      commands: [],
      workspaces: [],
      savedPipelines: [],
      livePipelines: [],
      stats: [],
    });
  });
});

const nat = fc.nat({ max: 2 ** 40 });
const text = fc.string({ maxLength: 12 });
const label = fc.string({ minLength: 1, maxLength: 8 });
const enforce = fc.constantFrom('none', 'log', 'kill' as const);
const cgroupPath = fc.constantFrom('', 'shipote', 'shipote/a-b');
const workspaceSpec: fc.Arbitrary<WorkspaceSpec> = fc.record({
  label,
  onExit: fc.constantFrom('reap', 'wait' as const),
  ttlMs: nat,
  rlimits: fc.record({ memBytes: nat, nproc: nat, nofile: nat }),
  namespaces: fc.record({
    user: fc.boolean(),
    pid: fc.boolean(),
    mount: fc.boolean(),
    net: fc.boolean(),
    uts: fc.boolean(),
    ipc: fc.boolean(),
    cgroup: fc.boolean(),
  }),
  cgroupPath,
  quotaEnforce: fc.record({ mem: enforce, nproc: enforce }),
});
// Optional log rotation: absent (the daemon's defaults) or set.
const logs = fc.record({
  maxBytes: fc.oneof(fc.constant(0), fc.integer({ min: 4096, max: 1024 ** 4 })),
  keep: fc.integer({ min: 0, max: 100 }),
});
// A chain 0 → 1 → … keeps the graph valid whatever the node count.
const pipelineSpec: fc.Arbitrary<PipelineSpec> = fc
  .uniqueArray(label, { minLength: 1, maxLength: 4 })
  .chain((labels) =>
    fc.record({
      label,
      workspace: label,
      discern: fc.record({
        sampleBytes: nat,
        enrichProducer: fc.boolean(),
        replayChunks: nat,
        replayBytes: nat,
        maxBytesPerSec: nat,
      }),
      nodes: fc.tuple(
        ...labels.map((l) =>
          fc.record(
            {
              label: fc.constant(l),
              payload: fc.record({ exec: label, argv: fc.array(text), envp: fc.array(text) }),
              logs,
            },
            { requiredKeys: ['label', 'payload'] },
          ),
        ),
      ),
      edges: fc.constant(
        labels.slice(1).map((_, i) => ({
          from: i,
          fromOutput: 'stdout' as const,
          to: i + 1,
          toInput: 'stdin' as const,
        })),
      ),
      restart: fc.record({
        restartOnFailure: fc.boolean(),
        backoffMsInitial: nat,
        backoffMsMax: nat,
        restartMax: nat,
        resetAfterMs: nat,
      }),
      crashLoop: fc.record({ deathsMax: nat, windowMs: nat }),
      logs: fc.option(logs, { nil: undefined }),
    }),
  )
  .map(({ logs: l, ...s }) => (l ? { ...s, logs: l } : s));
const sample: fc.Arbitrary<StatsSample> = fc.record({
  wallMs: nat,
  rssBytes: nat,
  cpuUs: nat,
  cpuPermille: nat,
});
const commandSpec: fc.Arbitrary<CommandSpec> = fc
  .record({
    exec: label,
    argv: fc.array(text, { maxLength: 3 }),
    envp: fc.array(text, { maxLength: 2 }),
    cwd: text,
    label,
    restart: fc.constantFrom('no' as const, 'on-failure' as const, 'always' as const),
    backoffMs: nat,
    backoffMsMax: nat,
    crashLoopMax: nat,
    crashLoopWindowMs: nat,
    ready: fc.constantFrom('exec' as const, 'notify' as const),
    readyTimeoutMs: nat,
    watchdogMs: nat,
    dependsOn: fc.array(label, { maxLength: 2 }),
    user: text,
    group: text,
    logs: fc.option(logs, { nil: undefined }),
  })
  .map(({ logs: l, ...s }) => ({
    ...(l ? { logs: l } : {}),
    ...s,
    restartOnFailure: s.restart !== 'no',
    backoffMsMax: Math.max(s.backoffMs, s.backoffMsMax),
  }));
const snapshot: fc.Arbitrary<Snapshot> = fc.record({
  version: fc.constant(5 as const),
  commands: fc.uniqueArray(
    fc.record({ id: label, workspaceId: label, spec: commandSpec, restarts: nat, backoffMs: nat }),
    { selector: (c) => c.id, maxLength: 3 },
  ),
  workspaces: fc.uniqueArray(
    fc.record({ id: label, spec: workspaceSpec, createdAtWallMs: nat, warnings: fc.array(text) }),
    { selector: (w) => w.id, maxLength: 3 },
  ),
  savedPipelines: fc.uniqueArray(fc.record({ name: label, source: text, savedAtWallMs: nat }), {
    selector: (p) => p.name,
    maxLength: 3,
  }),
  livePipelines: fc.uniqueArray(
    fc.record({
      id: label,
      spec: pipelineSpec,
      source: text,
      vars: fc.dictionary(text, text, { maxKeys: 3 }),
      tap: fc.boolean(),
      restarts: nat,
      backoffMs: nat,
    }),
    { selector: (p) => p.id, maxLength: 2 },
  ),
  stats: fc.uniqueArray(
    fc.record({ workspaceId: label, samples: fc.array(sample, { maxLength: 16 }) }),
    { selector: (s) => s.workspaceId, maxLength: 3 },
  ),
});

describe('snapshot round trip (property)', () => {
  it('decodes every encoded snapshot back to an equal one, and re-encodes to the same text', () => {
    fc.assert(
      fc.property(snapshot, (s) => {
        const encoded = encodeSnapshot(s);
        const result = decodeSnapshot(encoded);
        expect(result.ok).toBe(true);
        if (!result.ok) return;
        expect(result.fromVersion).toBe(5);
        expect(result.snapshot).toEqual(s);
        expect(encodeSnapshot(result.snapshot)).toBe(encoded);
      }),
      { numRuns: 200 },
    );
  });
});

/** Paths of the objects in `value` whose own keys are not in sorted order (`vars` aside). */
function unsortedPaths(value: unknown, path: string): string[] {
  if (typeof value !== 'object' || value === null) return [];
  const keys = Object.keys(value);
  const here = Array.isArray(value) || keys.join() === [...keys].sort().join() ? [] : [path];
  return here.concat(
    ...keys
      .filter((k) => k !== 'vars') // the caller's own names, in the caller's order
      .map((k) => unsortedPaths((value as Record<string, unknown>)[k], `${path}.${k}`)),
  );
}

describe('packed layout', () => {
  it('lists the keys of every packed record sorted, as the encoder writes them', () => {
    // The canonical encoder takes a record whose keys are in order as they are (no sort and
    // no copy of its key list): the packers build each record in that order.
    fc.assert(
      fc.property(snapshot, (s) => {
        expect(unsortedPaths(packV5(s), '')).toEqual([]);
      }),
      { numRuns: 100 },
    );
  });
});

/**
 * A later snapshot over the records of `before`: the same spec objects (and newest stats
 * samples), the objects the encoder keys its kept texts by, each other field taken from
 * `before` or from `later` as `mask` says. The encoder must notice every field that moved.
 */
function mix(before: Snapshot, later: Snapshot, mask: boolean[]): Snapshot {
  let bit = 0;
  const pick = <T>(was: T, now: T): T => (mask[bit++ % mask.length] ? now : was);
  const over = <T extends object>(was: T[], now: T[], merge: (w: T, n: T) => T): T[] =>
    now.map((n, i) => {
      const w = was[i];
      return w === undefined ? n : merge(w, n);
    });
  return {
    ...later,
    commands: over(before.commands, later.commands, (w, n) => ({
      id: pick(w.id, n.id),
      workspaceId: pick(w.workspaceId, n.workspaceId),
      spec: w.spec,
      restarts: pick(w.restarts, n.restarts),
      backoffMs: pick(w.backoffMs, n.backoffMs),
    })),
    workspaces: over(before.workspaces, later.workspaces, (w, n) => ({
      id: pick(w.id, n.id),
      spec: w.spec,
      createdAtWallMs: pick(w.createdAtWallMs, n.createdAtWallMs),
      warnings: pick([...w.warnings], n.warnings),
    })),
    livePipelines: over(before.livePipelines, later.livePipelines, (w, n) => ({
      id: pick(w.id, n.id),
      spec: w.spec,
      source: pick(w.source, n.source),
      vars: pick({ ...w.vars }, n.vars),
      tap: pick(w.tap, n.tap),
      restarts: pick(w.restarts, n.restarts),
      backoffMs: pick(w.backoffMs, n.backoffMs),
    })),
    stats: over(before.stats, later.stats, (w, n) => {
      const newest = w.samples.at(-1);
      const samples = pick([...w.samples], [...n.samples.slice(1), ...(newest ? [newest] : [])]);
      return { workspaceId: pick(w.workspaceId, n.workspaceId), samples };
    }),
  };
}

const distinct = <T>(list: T[], key: (t: T) => string): boolean =>
  new Set(list.map(key)).size === list.length;

describe('encodeSnapshot keeps texts only while their records are unchanged', () => {
  it('encodes a record whose spec it has seen with every field as it is now', () => {
    fc.assert(
      fc.property(snapshot, snapshot, fc.array(fc.boolean(), { minLength: 1 }), (b, l, mask) => {
        const [before, later] = [b, l];
        const after = mix(before, later, mask);
        fc.pre(distinct(after.commands, (c) => c.id));
        fc.pre(distinct(after.workspaces, (w) => w.id));
        fc.pre(distinct(after.livePipelines, (p) => p.id));
        fc.pre(distinct(after.stats, (st) => st.workspaceId));
        encodeSnapshot(before);
        const result = decodeSnapshot(encodeSnapshot(after));
        expect(result.ok && result.snapshot).toEqual(after);
        expect(decodeSnapshot(encodeSnapshot(before))).toMatchObject({ snapshot: before });
      }),
      { numRuns: 500 },
    );
  });

  it.each([
    ['restarts', (c: Snapshot['commands'][0]) => ({ ...c, restarts: c.restarts + 1 })],
    ['backoffMs', (c: Snapshot['commands'][0]) => ({ ...c, backoffMs: c.backoffMs + 1 })],
    ['id', (c: Snapshot['commands'][0]) => ({ ...c, id: `${c.id}x` })],
    ['workspaceId', (c: Snapshot['commands'][0]) => ({ ...c, workspaceId: 'w2' })],
  ])('re-encodes a command whose %s changed under the same spec', (_field, change) => {
    const s = decoded(V5_TEXT);
    const first = encodeSnapshot(s);
    const changed = { ...s, commands: s.commands.map(change) };
    const text = encodeSnapshot(changed);
    expect(text).not.toBe(first);
    expect(decoded(text).commands).toEqual(changed.commands);
    expect(encodeSnapshot(s)).toBe(first);
  });
});

/** Every field and item of a parsed snapshot, with its path as the decoder names it. */
interface Field {
  path: string;
  container: boolean;
  set: (v: unknown) => void;
}

function leaves(value: unknown, path: string): Field[] {
  if (value === null || typeof value !== 'object') return [];
  const out: Field[] = [];
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    const at = Array.isArray(value) ? `${path}[${key}]` : path === '' ? key : `${path}.${key}`;
    const child = record[key];
    const container = child !== null && typeof child === 'object';
    out.push({ path: at, container, set: (v) => (record[key] = v) });
    if (container) out.push(...leaves(child, at));
  }
  return out;
}

describe('a damaged field', () => {
  const cases = [
    ['v4', V4_TEXT],
    ['v5', V5_TEXT],
  ].flatMap(([name, text]) =>
    leaves(JSON.parse(text as string), '')
      .map((leaf, i) => [`${name} ${leaf.path}`, text as string, i] as const)
      .filter(([label]) => !label.endsWith(' version')),
  );

  it.each(cases)('is named by its path in the refusal: %s', (_label, text, i) => {
    const doc = JSON.parse(text) as unknown;
    const leaf = leaves(doc, '')[i];
    // A number where an object or a list is expected; an object where a value is.
    leaf?.set(leaf.container ? 7 : { damaged: true });
    const result = decodeSnapshot(JSON.stringify(doc));
    const message = result.ok ? (result.skipped[0]?.message ?? 'nothing skipped') : result.message;
    expect(message).toContain(`${leaf?.path}: expected `);
  });
});
