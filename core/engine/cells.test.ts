/** The generic cell kinds of a state × event table, on a two-state machine of its own. */

import { type Cell, dispatch, type StepContext, type Table } from './cells.js';
import type { ApiError } from './errors.js';

type S = 'idle' | 'busy';
type E = { type: 'go' } | { type: 'halt' } | { type: 'poke' };

class Ctx implements StepContext {
  refused: ApiError[] = [];
  handled: string[] = [];
  refuse(error: ApiError): void {
    this.refused.push(error);
  }
}

const go: Cell<string, { type: 'go' }, Ctx> = (d, rec, e) => {
  d.handled.push(`${rec}:${e.type}`);
};

const TABLE: Table<S, E, string, Ctx> = {
  idle: { go, halt: 'ignore', poke: 'bug' },
  busy: { go: 'refuse', halt: go as never, poke: 'ignore' },
};

const run = (state: S, type: E['type']) => {
  const d = new Ctx();
  dispatch(d, TABLE, state, 'rec', { type } as E, { name: 'thing "t"' });
  return d;
};

describe('table cells', () => {
  it('a handler is called with the record and the event', () => {
    expect(run('idle', 'go').handled).toEqual(['rec:go']);
    expect(run('busy', 'halt').handled).toEqual(['rec:halt']);
  });

  it('ignore does nothing at all', () => {
    for (const d of [run('idle', 'halt'), run('busy', 'poke')]) {
      expect(d.handled).toEqual([]);
      expect(d.refused).toEqual([]);
    }
  });

  it('refuse is a conflict naming the entity, its state and the event', () => {
    const d = run('busy', 'go');
    expect(d.refused).toEqual([{ code: 'conflict', message: 'thing "t" is busy: cannot go' }]);
    expect(d.handled).toEqual([]);
  });

  it('bug throws, naming the event, the entity and its state', () => {
    expect(() => run('idle', 'poke')).toThrow('engine: poke cannot happen to thing "t" (idle)');
  });

  it('a missing cell throws too (a table built outside the types)', () => {
    const d = new Ctx();
    const holed = { idle: {}, busy: {} } as unknown as Table<S, E, string, Ctx>;
    expect(() => dispatch(d, holed, 'idle', 'rec', { type: 'go' }, { name: 'x' })).toThrow(
      'table: no cell for idle × go',
    );
  });
});
