/**
 * The deferred save writes only when something changed since the last write: a clean
 * state asks for no write at all (the snapshot is not even encoded).
 */

import { caps } from '../../testing/fakes.js';
import type { EngineState } from './model.js';
import { initialState, step } from './step.js';

const options = { sampleEveryMs: 1000, saveDelayMs: 200, deadCommandsMax: 4, cores: 2 };
const deferredWrite = { type: 'write-snapshot', sync: false };

function started(): EngineState {
  return step(initialState(options), { type: 'daemon-started', caps: caps(false) }, 0).state;
}

describe('the deferred save', () => {
  it.each([
    ['clean', false, []],
    ['dirty', true, [deferredWrite]],
  ])('on flush, a %s state (dirty %s) asks for writes %j', (_what, dirty, writes) => {
    const r = step({ ...started(), dirty }, { type: 'flush' }, 10);
    expect(r.effects.filter((e) => e.type === 'write-snapshot')).toEqual(writes);
    expect(r.state.dirty).toBe(false);
  });

  it.each([
    ['clean', false, []],
    ['dirty', true, [deferredWrite]],
  ])(
    'when the save timer fires, a %s state (dirty %s) asks for writes %j',
    (_what, dirty, writes) => {
      const s0 = started();
      const armed = { ...s0, dirty, timers: new Map([['save', 200]]) };
      const r = step(armed, { type: 'timer-fired', key: 'save' }, 200);
      expect(r.effects.filter((e) => e.type === 'write-snapshot')).toEqual(writes);
    },
  );
});
