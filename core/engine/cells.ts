/**
 * State × event tables (s6-supervise's `actions[state][event]`), generic over the step
 * context: every entity event has an explicit cell in every state of the entity. A cell is
 * a handler, or one of
 * - `ignore`: a no-op (a stale timer, a late message): nothing changes, nothing is emitted;
 * - `refuse`: the caller asked for something the state does not allow: a `conflict` error;
 * - `bug`: the event cannot happen in this state: the engine throws (a bug, not a refusal).
 * `table.ts` gives them the engine's Draft as context; the worker's machine its own Step.
 */

import type { ApiError } from './errors.js';

/** What a handler works on: the engine's Draft, or a machine's own (the worker's Step). */
export interface StepContext {
  refuse(error: ApiError): void;
}

export type Cell<R, E, D extends StepContext> =
  | ((d: D, rec: R, e: E) => void)
  | 'ignore'
  | 'refuse'
  | 'bug';

export type Table<S extends string, E extends { type: string }, R, D extends StepContext> = {
  [K in S]: { [T in E['type']]: Cell<R, Extract<E, { type: T }>, D> };
};

export interface Entity {
  /** `command "web"`: names the record in refusals and bug reports. */
  name: string;
}

export function dispatch<S extends string, E extends { type: string }, R, D extends StepContext>(
  d: D,
  table: Table<S, E, R, D>,
  state: S,
  rec: R,
  e: E,
  entity: Entity,
): void {
  const row = table[state] as Record<string, Cell<R, E, D>>;
  const cell = row[e.type];
  if (cell === undefined) throw new Error(`table: no cell for ${state} × ${e.type}`);
  if (cell === 'ignore') return;
  if (cell === 'refuse') {
    d.refuse({ code: 'conflict', message: `${entity.name} is ${state}: cannot ${e.type}` });
    return;
  }
  if (cell === 'bug')
    throw new Error(`engine: ${e.type} cannot happen to ${entity.name} (${state})`);
  cell(d, rec, e);
}
