import fc from 'fast-check';
import { caps, cmdSpec, wsSpec } from '../../testing/fakes.js';
import type { EngineEvent, EngineState } from './model.js';
import { initialState, step } from './step.js';

const options = { sampleEveryMs: 1000, saveDelayMs: 200, deadCommandsMax: 4, cores: 2 };

function started(): EngineState {
  return step(initialState(options), { type: 'daemon-started', caps: caps(false) }, 0).state;
}

function serialize(state: EngineState): string {
  return JSON.stringify(state, (_k, v) => (v instanceof Map ? [...v.entries()] : v));
}

const WS = '01WS00000000000000000000000';

describe('step', () => {
  it('returns plain-data effects and leaves the state it was given untouched', () => {
    const s0 = started();
    const before = serialize(s0);
    const r = step(
      s0,
      { type: 'workspace-create', id: WS, spec: wsSpec({ ttlMs: 500 }), wallMs: 1 },
      10,
    );
    expect(serialize(s0)).toBe(before);
    expect(r.error).toBeNull();
    expect(r.effects).toEqual([
      { type: 'write-snapshot', sync: true },
      { type: 'append-event', ev: 'workspace-create', fields: { ws: WS, label: 'w', warnings: 0 } },
      { type: 'arm-timer', key: `ttl:${WS}`, atMs: 510 },
    ]);
  });

  it('refuses with an error and no effects, keeping the old state', () => {
    const s0 = started();
    const r = step(s0, { type: 'command-run', ref: 'nope', id: 'c1', spec: cmdSpec() }, 0);
    expect(r.error).toEqual({ code: 'not_found', message: 'no workspace "nope"' });
    expect(r.effects).toEqual([]);
    expect(r.state).toBe(s0);
  });

  it('ignores a timer that was cancelled before its firing was delivered', () => {
    const s0 = started();
    const r = step(s0, { type: 'timer-fired', key: 'restart:gone' }, 5);
    expect(r.effects).toEqual([]);
  });

  it('throws on an impossible state: a spawn result for a command that does not exist', () => {
    const event: EngineEvent = { type: 'spawned', cmdId: 'ghost', pid: 9, wallMs: 0 };
    expect(() => step(started(), event, 0)).toThrow('command ghost must exist');
  });

  it('logs an exit of an unknown pid instead of deciding anything', () => {
    const r = step(started(), { type: 'process-exited', pid: 4242, code: 1, signal: null }, 0);
    expect(r.effects).toEqual([
      { type: 'append-event', ev: 'exit-unknown', fields: { pid: 4242 } },
    ]);
  });
});

describe('step over random sequences', () => {
  it('never mutates its input over random sequences of runs, exits and timers', () => {
    type Op = { kind: 'run' | 'exit' | 'tick'; n: number };
    const op = fc.record({
      kind: fc.constantFrom<'run' | 'exit' | 'tick'>('run', 'exit', 'tick'),
      n: fc.nat(50),
    });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops: Op[]) => {
        let state = step(
          started(),
          { type: 'workspace-create', id: WS, spec: wsSpec(), wallMs: 0 },
          0,
        ).state;
        let nowMs = 0;
        let pid = 100;
        for (const [i, o] of ops.entries()) {
          const before = serialize(state);
          const event = toEvent(o, i, state);
          const r = step(state, event, nowMs);
          expect(serialize(state)).toBe(before);
          state = r.state;
          for (const e of r.effects) {
            if (e.type === 'spawn') {
              state = step(
                state,
                { type: 'spawned', cmdId: e.cmdId, pid: pid++, wallMs: 0 },
                nowMs,
              ).state;
            }
          }
          nowMs += o.kind === 'tick' ? o.n * 20 : 1;
        }
      }),
      { numRuns: 100 },
    );
  });
});

function toEvent(o: { kind: string; n: number }, i: number, state: EngineState): EngineEvent {
  if (o.kind === 'run') {
    const spec = cmdSpec({ restartOnFailure: o.n % 2 === 0 });
    return { type: 'command-run', ref: WS, id: `c${i}`, spec };
  }
  if (o.kind === 'exit') {
    const pids = [...state.pids.keys()];
    const pid = pids[o.n % Math.max(1, pids.length)] ?? 1;
    return { type: 'process-exited', pid, code: o.n % 3, signal: null };
  }
  const keys = [...state.timers.keys()];
  return { type: 'timer-fired', key: keys[o.n % Math.max(1, keys.length)] ?? 'sample' };
}
