/** The engine's state × event tables: the generic cells (cells.ts) over the engine's Draft. */

import type { Cell as AnyCell, Table as AnyTable, StepContext } from './cells.js';
import type { Draft } from './draft.js';

export { dispatch, type Entity, type StepContext } from './cells.js';

export type Cell<R, E, D extends StepContext = Draft> = AnyCell<R, E, D>;

export type Table<
  S extends string,
  E extends { type: string },
  R,
  D extends StepContext = Draft,
> = AnyTable<S, E, R, D>;
