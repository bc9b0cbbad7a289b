/**
 * Golden bytes: the snapshot texts a scripted engine session writes, hashed. The digest was
 * taken with the first encoder (a sorted deep copy through `JSON.stringify(…, null, 1)` of
 * `packV5`, the layout version 5 writes);
 * the incremental encoder must write the very same bytes, in the same order.
 */

import { createHash } from 'node:crypto';
import { cmdSpec, FakeStore, ok, pipeSpec, setup, wsSpec } from '../../testing/fakes.js';
import { ECHO_CAT_PIPELINE_TOML } from '../../testing/fixtures/control.js';

class RecordingStore extends FakeStore {
  readonly texts: string[] = [];
  override write(text: string) {
    this.texts.push(text);
    return super.write(text);
  }
}

function session(): string[] {
  const store = new RecordingStore();
  const { f, sup } = setup(store);
  f.kernel.stats = { alive: 1, rssBytes: 3 << 20, cpuUs: 0 };
  ok(sup.createWorkspace(wsSpec({ label: 'alpha', ttlMs: 60_000 })));
  ok(
    sup.createWorkspace(
      wsSpec({ label: 'beta', rlimits: { memBytes: 1 << 20, nproc: 3, nofile: 0 } }),
    ),
  );
  ok(sup.savePipeline('quoted', `${ECHO_CAT_PIPELINE_TOML}# "quotes", tabs\t and ünïcode ✓\n`));
  ok(sup.runCommand('alpha', cmdSpec({ label: 'nap' })));
  for (let i = 1; i <= 20; i++) {
    f.kernel.stats = { alive: 1, rssBytes: (3 << 20) + i * 4096, cpuUs: i * 1000 };
    f.clock.advance(500);
  }
  const supervised = { ...pipeSpec().restart, restartOnFailure: true };
  const spec = pipeSpec({ label: 'flow', workspace: 'beta', restart: supervised });
  ok(
    sup.runPipeline(spec, {
      tap: true,
      source: 'label = "flow"',
      vars: { b: '2', 10: 'x', a: '1' },
    }),
  );
  f.clock.advance(3000);
  ok(sup.dropSavedPipeline('quoted'));
  void sup.stopWorkspace('alpha', 0);
  f.clock.advance(3000);
  sup.flush();
  return store.texts;
}

describe('snapshot bytes', () => {
  it('are the golden ones: same texts, same order, as the first encoder wrote', () => {
    const texts = session();
    // The session covers every part of the layout: specs, saved and live pipelines, stats.
    for (const part of ['"quoted"', '"10": "x"', '"samples"', '"crashLoop"', '"quotaEnforce"']) {
      expect([part, texts.some((t) => t.includes(part))]).toEqual([part, true]);
    }
    const digest = createHash('sha256').update(texts.join('\u0000')).digest('hex');
    expect({ writes: texts.length, digest }).toEqual(GOLDEN);
  });
});

const GOLDEN = {
  writes: 21,
  digest: 'c7bd7d135e9e9b6905517621e0e948a98b0d0b2dc294a0c3bae62d981debcba0',
};
