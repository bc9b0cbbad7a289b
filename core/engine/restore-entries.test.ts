/** Restore keeps every valid entry of a snapshot and sets aside only the bad ones. */

import { type FakeStore, fakes, ok, setup, wsSpec } from '../../testing/fakes.js';
import { createSupervisor } from './supervisor.js';

function breakSecondWorkspace(store: FakeStore): void {
  const raw = JSON.parse(store.text ?? '');
  raw.workspaces[1].spec.label = 42;
  store.text = JSON.stringify(raw);
}

describe('per-entry restore', () => {
  it('restores the valid workspaces, keeps a copy of the file, and names the bad entry', () => {
    const first = setup();
    const a = ok(first.sup.createWorkspace(wsSpec({ label: 'a' })));
    ok(first.sup.createWorkspace(wsSpec({ label: 'b' })));
    breakSecondWorkspace(first.f.store);
    const store = first.f.store;
    const f = fakes(store);
    const sup = createSupervisor(f.ports, { sampleEveryMs: 1000, saveDelayMs: 200 });
    const report = sup.start();
    expect(report).toMatchObject({
      outcome: 'restored',
      workspaces: 1,
      skipped: [{ path: 'workspaces[1]', message: expect.stringContaining('spec.label') }],
    });
    expect(sup.listWorkspaces().map((w) => [w.id, w.label])).toEqual([[a.id, 'a']]);
    // The whole file went aside (it holds the bad entry); the valid part was written back.
    expect(store.asideCount).toBe(1);
    expect(JSON.parse(store.text ?? '{}').workspaces).toHaveLength(1);
    const logged = f.eventLog.named('snapshot-entries-skipped');
    expect(logged[0]?.fields).toMatchObject({ count: 1, first: 'workspaces[1]' });
  });
});
