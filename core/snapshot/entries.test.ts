/** One bad entry costs only itself: restore keeps every valid entry of a snapshot. */

import { V4_TEXT } from '../../testing/fixtures/snapshot.js';
import { decodeSnapshot } from './codec.js';

function withBadEntries(): string {
  const raw = JSON.parse(V4_TEXT);
  const good = raw.workspaces[0];
  raw.workspaces = [
    good,
    { ...good, id: '01HZX0000000000000000000CC', spec: { ...good.spec, label: 42 } },
    { ...good, id: '01HZX0000000000000000000DD', spec: { ...good.spec, label: 'third' } },
  ];
  raw.savedPipelines.push({ name: 'broken', source: 7, savedAtWallMs: 1 });
  return JSON.stringify(raw);
}

describe('per-entry restore', () => {
  it('keeps the valid workspaces and saved pipelines, listing each entry it skipped', () => {
    const decoded = decodeSnapshot(withBadEntries());
    expect(decoded.ok).toBe(true);
    if (!decoded.ok) return;
    expect(decoded.snapshot.workspaces.map((w) => w.id)).toEqual([
      '01HZX0000000000000000000AA',
      '01HZX0000000000000000000DD',
    ]);
    expect(decoded.snapshot.savedPipelines.map((s) => s.name)).toEqual(['echo']);
    expect(decoded.skipped).toEqual([
      {
        path: 'workspaces[1]',
        message: expect.stringContaining('workspaces[1].spec.label: expected'),
      },
      {
        path: 'savedPipelines[1]',
        message: expect.stringContaining('savedPipelines[1].source: expected a string'),
      },
    ]);
  });

  it('still sets aside a file that does not parse, or whose lists are not lists', () => {
    expect(decodeSnapshot('{"version": 4, "workspaces": [tr').ok).toBe(false);
    const raw = JSON.parse(V4_TEXT);
    raw.workspaces = 'nope';
    expect(decodeSnapshot(JSON.stringify(raw))).toMatchObject({ ok: false, reason: 'corrupt' });
  });

  it('reports no skipped entries for a whole snapshot', () => {
    const decoded = decodeSnapshot(V4_TEXT);
    expect(decoded.ok && decoded.skipped).toEqual([]);
  });
});
