// A tiny sequential test runner for the microVM (no jest inside the guest). Each result is
// one console line the host parses (e2e/vm/console.ts):
//   SHIPOTE-TEST ok <name>
//   SHIPOTE-TEST fail <name>: <reason>
//   SHIPOTE-TEST skip <name>: <reason>
//   SHIPOTE-SUITE done passed=N failed=N skipped=N
// Names carry no whitespace or colon; reasons are one line. Details go on `# ` lines.
import { writeSync } from 'node:fs';

class Skip extends Error {}

/** Write one whole line to stdout (the serial console) synchronously. */
export function emit(line) {
  writeSync(1, `${line}\n`);
}

function oneLine(text) {
  return String(text)
    .replace(/\s*\n\s*/g, ' | ')
    .slice(0, 400);
}

function reasonOf(error) {
  if (error instanceof Error) return oneLine(error.message || error.name);
  return oneLine(String(error));
}

/**
 * @typedef {{
 *   log(msg: string): void,
 *   skip(reason: string): never,
 *   defer(fn: () => unknown): void,
 * }} TestContext
 * @typedef {{ name: string, fn: (t: TestContext) => Promise<void>, timeoutMs: number }} TestCase
 */

/** Collects test cases; `test(name, fn, {timeoutMs})`, `skipAll(names, reason)`. */
export function createRegistry(prefix) {
  /** @type {TestCase[]} */
  const tests = [];
  return {
    tests,
    test(name, fn, options = {}) {
      const full = `${prefix}/${name}`;
      if (/[\s:]/.test(full)) throw new Error(`test name has whitespace or colon: ${full}`);
      tests.push({ name: full, fn, timeoutMs: options.timeoutMs ?? 60_000 });
    },
  };
}

function withTimeout(promise, timeoutMs) {
  let timer;
  const expired = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

async function runCleanups(name, cleanups) {
  for (const fn of cleanups.reverse()) {
    try {
      await withTimeout(Promise.resolve().then(fn), 20_000);
    } catch (error) {
      emit(`# ${name}: cleanup failed: ${reasonOf(error)}`);
    }
  }
}

/** Errors nobody awaited, raised while a test runs: they fail that test. */
let uncaught = [];
process.on('uncaughtException', (error) => {
  emit(`# uncaught: ${error?.stack ?? error}`);
  uncaught.push(error);
});
process.on('unhandledRejection', (error) => {
  emit(`# unhandled rejection: ${error?.stack ?? error}`);
  uncaught.push(error);
});

/** Run one test; returns 'ok' | 'fail' | 'skip' after printing its line. */
async function runOne(test) {
  uncaught = [];
  const cleanups = [];
  const started = performance.now();
  /** @type {TestContext} */
  const t = {
    log: (msg) => emit(`# ${test.name}: ${oneLine(msg)}`),
    skip: (reason) => {
      throw new Skip(reason);
    },
    defer: (fn) => cleanups.push(fn),
  };
  let verdict;
  try {
    await withTimeout(
      Promise.resolve().then(() => test.fn(t)),
      test.timeoutMs,
    );
    verdict = { kind: 'ok' };
  } catch (error) {
    if (error instanceof Skip) verdict = { kind: 'skip', reason: oneLine(error.message) };
    else {
      if (error instanceof Error && error.stack) {
        for (const line of error.stack.split('\n').slice(0, 8)) emit(`# ${test.name}: ${line}`);
      }
      verdict = { kind: 'fail', reason: reasonOf(error) };
    }
  }
  if (uncaught.length > 0 && verdict.kind !== 'fail') {
    verdict = { kind: 'fail', reason: `uncaught during the test: ${reasonOf(uncaught[0])}` };
  }
  await runCleanups(test.name, cleanups);
  const ms = Math.round(performance.now() - started);
  emit(`# ${test.name}: ${ms} ms`);
  emit(`SHIPOTE-TEST ${verdict.kind} ${test.name}${verdict.reason ? `: ${verdict.reason}` : ''}`);
  return verdict.kind;
}

/**
 * Run the cases in order. `only`: name prefixes (empty = all). `gate(test)` may return a
 * skip reason (a missing prerequisite), or `{kind: 'fail', reason}` for a test that cannot
 * run for a reason that must not pass as green, before the test runs.
 */
export async function runTests(tests, { only = [], gate = () => null } = {}) {
  const counts = { ok: 0, fail: 0, skip: 0 };
  for (const test of tests) {
    if (only.length > 0 && !only.some((p) => test.name.startsWith(p))) continue;
    const why = gate(test);
    if (why) {
      const kind = typeof why === 'string' ? 'skip' : why.kind;
      emit(`SHIPOTE-TEST ${kind} ${test.name}: ${oneLine(why.reason ?? why)}`);
      counts[kind] += 1;
      continue;
    }
    counts[await runOne(test)] += 1;
  }
  return counts;
}

export function emitDone(counts) {
  emit(`SHIPOTE-SUITE done passed=${counts.ok} failed=${counts.fail} skipped=${counts.skip}`);
}
