/** The queue database's schema (PRAGMA user_version). A newer version is refused. */

export const SCHEMA_VERSION = 1;

/**
 * `seq` is AUTOINCREMENT so a number is never reused: push order is seq order, and a
 * dead letter sent back by `retry` goes to the tail with a fresh seq. Dead letters keep
 * the seq they had when they died (for display only).
 */
export const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS workers (
  name TEXT PRIMARY KEY,
  def TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tasks (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  worker TEXT NOT NULL REFERENCES workers(name),
  payload BLOB NOT NULL,
  attempt INTEGER NOT NULL DEFAULT 0,
  state TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running')),
  pushed_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS tasks_by_worker ON tasks (worker, seq);
CREATE TABLE IF NOT EXISTS dead (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  worker TEXT NOT NULL REFERENCES workers(name),
  payload BLOB NOT NULL,
  attempt INTEGER NOT NULL,
  pushed_at INTEGER NOT NULL,
  last TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS dead_by_worker ON dead (worker, seq);
CREATE TABLE IF NOT EXISTS counters (
  worker TEXT PRIMARY KEY REFERENCES workers(name),
  pushed INTEGER NOT NULL DEFAULT 0,
  done INTEGER NOT NULL DEFAULT 0,
  failed INTEGER NOT NULL DEFAULT 0,
  dead INTEGER NOT NULL DEFAULT 0,
  last TEXT
);
`;
