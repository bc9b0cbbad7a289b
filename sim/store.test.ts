import { Faults } from './faults.js';
import { Prng, ratio } from './prng.js';
import { SimStore } from './store.js';
import { Trace } from './trace.js';

function store(kind: 'store-fail' | 'store-crash' | null, seed = 1) {
  const sites = new Map(kind ? [[kind, ratio(1, 1)] as const] : []);
  const faults = new Faults(new Prng(seed), sites);
  const crashed: number[] = [];
  const dead = new Set<number>();
  const s = new SimStore(
    faults,
    new Trace(false, () => 0),
    () => 0,
    (gen) => !dead.has(gen),
    (gen) => {
      dead.add(gen);
      crashed.push(gen);
    },
  );
  return { s, crashed };
}

describe('SimStore', () => {
  it('reads back what was written', () => {
    const { s } = store(null);
    expect(s.port(0).read()).toEqual({ kind: 'empty' });
    expect(s.port(0).write('v1')).toEqual({ ok: true, value: true });
    expect(s.port(0).read()).toEqual({ kind: 'text', text: 'v1' });
  });

  it('keeps the old text whole when a write fails', () => {
    const { s, crashed } = store('store-fail');
    s.text = 'old';
    expect(s.port(0).write('new').ok).toBe(false);
    expect(s.port(1).read()).toEqual({ kind: 'text', text: 'old' });
    expect(crashed).toEqual([]);
  });

  it('leaves one whole text, old or new, when the daemon dies mid-write', () => {
    const outcomes = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const { s, crashed } = store('store-crash', i + 1);
      s.text = 'old';
      expect(s.port(0).write('new').ok).toBe(false);
      expect(crashed).toEqual([0]);
      const read = s.port(1).read();
      if (read.kind === 'text') outcomes.add(read.text);
    }
    expect([...outcomes].sort()).toEqual(['new', 'old']);
  });

  it('moves the text aside and reads empty afterwards', () => {
    const { s } = store(null);
    s.text = 'corrupt';
    expect(s.port(0).setAside('corrupt')).toEqual({
      ok: true,
      value: { path: '/sim/state.json.aside-1' },
    });
    expect(s.port(0).read()).toEqual({ kind: 'empty' });
  });
});
