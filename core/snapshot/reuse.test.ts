/**
 * The v5 packer reuses what it packed while records are unchanged, and only then: copies
 * of unchanged records (the engine rebuilds records on every step) pack to the very same
 * object as the last snapshot, and a record changed in any one field besides its anchor
 * (spec, newest sample) is packed again. Also: at most 16 samples, written and read.
 */

import { V4_TEXT, V5_TEXT } from '../../testing/fixtures/snapshot.js';
import { decodeSnapshot, encodeSnapshot } from './codec.js';
import type { Snapshot } from './types.js';
import { packV5 } from './v5.js';

function decoded(text: string): Snapshot {
  const result = decodeSnapshot(text);
  if (!result.ok) throw new Error(result.message);
  return result.snapshot;
}

/** The fixture with every list filled (stats come from the v4 file). */
function full(): Snapshot {
  return { ...decoded(V5_TEXT), stats: decoded(V4_TEXT).stats };
}

/** New record objects holding the same specs and samples, as the engine's next state does. */
function recopy(s: Snapshot, newVars: boolean): Snapshot {
  return {
    ...s,
    workspaces: s.workspaces.map((w) => ({ ...w, warnings: [...w.warnings] })),
    savedPipelines: s.savedPipelines.map((p) => ({ ...p })),
    livePipelines: s.livePipelines.map((p) => ({ ...p, vars: newVars ? { ...p.vars } : p.vars })),
    stats: s.stats.map((st) => ({ ...st, samples: [...st.samples] })),
    commands: s.commands.map((c) => ({ ...c })),
  };
}

/** Encoded after `before` was, `after` reads back as itself. */
function reencodes(before: Snapshot, after: Snapshot): void {
  const first = encodeSnapshot(before);
  const text = encodeSnapshot(after);
  expect(decoded(text)).toEqual(after);
  expect(encodeSnapshot(before)).toBe(first);
}

describe('packing an unchanged snapshot', () => {
  it('gives the very object of the last one, for copies of its records too', () => {
    const s = full();
    const packed = packV5(s);
    expect(packV5(s)).toBe(packed);
    expect(packV5(recopy(s, false))).toBe(packed);
    expect(packV5(recopy(s, true))).toBe(packed);
  });

  it('keeps reusing after many samples (only the newest 16 are compared)', () => {
    const s = full();
    const base = s.stats[0]?.samples[0];
    if (base === undefined) throw new Error('fixture has a sample');
    const samples = Array.from({ length: 20 }, (_, i) => ({ ...base, wallMs: base.wallMs + i }));
    const many = { ...s, stats: [{ workspaceId: s.workspaces[0]?.id ?? '', samples }] };
    const packed = packV5(many);
    expect(packV5(recopy(many, false))).toBe(packed);
  });
});

describe('packing a changed record', () => {
  const changes: [string, (s: Snapshot) => Snapshot][] = [
    ['a saved time', (s) => ({ ...s, savedPipelines: [{ ...saved(s), savedAtWallMs: 9 }] })],
    ['a saved source', (s) => ({ ...s, savedPipelines: [{ ...saved(s), source: 'other' }] })],
    ['a saved name', (s) => ({ ...s, savedPipelines: [{ ...saved(s), name: 'other' }] })],
    ['a var value', (s) => withVars(s, { WS: 'other' })],
    ['a var name', (s) => withVars(s, { XX: 'strict' })],
    ['a var added', (s) => withVars(s, { WS: 'strict', B: '2' })],
    ['a var removed', (s) => withVars(s, {})],
    ['a workspace warning', (s) => ({ ...s, workspaces: [{ ...ws(s), warnings: ['w'] }] })],
    ['a workspace time', (s) => ({ ...s, workspaces: [{ ...ws(s), createdAtWallMs: 5 }] })],
  ];

  it.each(changes)('packs %s again', (_what, change) => {
    const s = full();
    reencodes(s, change(s));
  });

  it('packs a second var again when the first is unchanged', () => {
    const two = withVars(full(), { A: '1', B: '2' });
    reencodes(two, withVars(two, { A: '1', B: '3' }));
  });

  it('packs stats again when an older sample changes under the same newest one', () => {
    const s = full();
    const newest = s.stats[0]?.samples[0];
    if (newest === undefined) throw new Error('fixture has a sample');
    const older = { ...newest, wallMs: newest.wallMs - 1000 };
    const before = { ...s, stats: [{ workspaceId: 'A', samples: [older, newest] }] };
    const after = {
      ...s,
      stats: [{ workspaceId: 'A', samples: [{ ...older, cpuUs: 1 }, newest] }],
    };
    reencodes(before, after);
    const renamed = { ...s, stats: [{ workspaceId: 'B', samples: [older, newest] }] };
    reencodes(before, renamed);
  });
});

describe('stats samples', () => {
  const sample = (wallMs: number) => ({ wallMs, rssBytes: 1, cpuUs: 2, cpuPermille: 3 });
  const twenty = Array.from({ length: 20 }, (_, i) => sample(i));

  it('are written 16 at most, the newest', () => {
    const s = { ...full(), stats: [{ workspaceId: 'A', samples: twenty }] };
    const written = JSON.parse(encodeSnapshot(s)).stats[0].samples;
    expect(written.map((x: { wallMs: number }) => x.wallMs)).toEqual(
      twenty.slice(4).map((x) => x.wallMs),
    );
  });

  it('are read 16 at most, the newest, from a file an older writer left longer', () => {
    const raw = JSON.parse(V4_TEXT);
    raw.stats[0].samples = twenty;
    const read = decoded(JSON.stringify(raw)).stats[0]?.samples ?? [];
    expect(read.map((x) => x.wallMs)).toEqual(twenty.slice(4).map((x) => x.wallMs));
  });
});

describe('commands', () => {
  it('refuses a file naming one command id twice, saying which', () => {
    const raw = JSON.parse(V5_TEXT);
    raw.commands.push({ ...raw.commands[0], spec: { ...raw.commands[0].spec, label: 'b' } });
    const result = decodeSnapshot(JSON.stringify(raw));
    expect(result).toEqual({
      ok: false,
      reason: 'corrupt',
      message: 'snapshot is corrupt: commands[1]: duplicate id "01HZX0000000000000000000CC"',
    });
  });
});

function saved(s: Snapshot) {
  const p = s.savedPipelines[0];
  if (p === undefined) throw new Error('fixture has a saved pipeline');
  return p;
}

function ws(s: Snapshot) {
  const w = s.workspaces[0];
  if (w === undefined) throw new Error('fixture has a workspace');
  return w;
}

function withVars(s: Snapshot, vars: Record<string, string>): Snapshot {
  return { ...s, livePipelines: s.livePipelines.map((p) => ({ ...p, vars })) };
}
