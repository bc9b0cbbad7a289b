/**
 * Parser for the e2e:v2 microVM's serial console. The guest suite (e2e/vm/guest/) prints
 *   SHIPOTE-VM booted kernel=<release> …
 *   SHIPOTE-TEST ok <name>
 *   SHIPOTE-TEST fail <name>: <reason>
 *   SHIPOTE-TEST skip <name>: <reason>
 *   SHIPOTE-SUITE done passed=N failed=N skipped=N
 * among detail lines (`# …`), kernel messages and the final dmesg dump. Pure: takes the
 * console text, returns counted results; a run that did not finish, or whose lines do not
 * add up, gets a synthetic failed result so it can never count as green.
 */

export type Verdict = 'ok' | 'fail' | 'skip';

export interface TestResult {
  name: string;
  verdict: Verdict;
  /** Reason after `: ` (fail and skip), null for ok. */
  reason: string | null;
}

/** Detail lines kept per failed test in the printed report. */
const DETAIL_LINES_MAX = 12;

export interface Counts {
  passed: number;
  failed: number;
  skipped: number;
}

export interface ConsoleReport {
  /** In console order; synthetic `vm/*` failures last. */
  results: TestResult[];
  counts: Counts;
  /** The suite printed `SHIPOTE-SUITE done`. */
  done: boolean;
  /** Kernel release from the boot line, when seen. */
  kernel: string | null;
  /** `# <name>: …` detail lines by test name (the text after the prefix). */
  details: Record<string, string[]>;
}

const RESULT_RE = /SHIPOTE-TEST (ok|fail|skip) ([^\s:]+)(?::\s?(.*))?$/;
const DONE_RE = /SHIPOTE-SUITE done(?: passed=(\d+) failed=(\d+) skipped=(\d+))?/;
const BOOT_RE = /SHIPOTE-VM booted kernel=(\S+)/;
const PANIC_RE = /Kernel panic - not syncing: (.*)$/;
const DETAIL_RE = /^# ([^\s:]+): (.*)$/;

/** qemu/timeout exit statuses the host passes in: 124 (timeout) and 137 (SIGKILL after it). */
const TIMEOUT_STATUSES = new Set([124, 137]);

interface Scan {
  results: TestResult[];
  declared: Counts | null;
  done: boolean;
  kernel: string | null;
  panic: string | null;
  duplicates: string[];
  details: Record<string, string[]>;
}

function scanLines(text: string): Scan {
  const scan: Scan = {
    results: [],
    declared: null,
    done: false,
    kernel: null,
    panic: null,
    duplicates: [],
    details: {},
  };
  const seen = new Set<string>();
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r/g, '').trimEnd();
    // Detail lines may quote anything, result lines included.
    if (line.startsWith('#')) {
      const detail = DETAIL_RE.exec(line);
      if (detail) scan.details[detail[1]!] = [...(scan.details[detail[1]!] ?? []), detail[2]!];
      continue;
    }
    const result = RESULT_RE.exec(line);
    if (result) {
      const [, verdict, name, reason] = result as unknown as [string, Verdict, string, string?];
      if (seen.has(name)) scan.duplicates.push(name);
      seen.add(name);
      scan.results.push({ name, verdict, reason: reason?.trim() || null });
      continue;
    }
    const done = DONE_RE.exec(line);
    if (done) {
      scan.done = true;
      if (done[1] !== undefined) {
        scan.declared = { passed: +done[1], failed: +(done[2] ?? 0), skipped: +(done[3] ?? 0) };
      }
      continue;
    }
    scan.kernel ??= BOOT_RE.exec(line)?.[1] ?? null;
    scan.panic ??= PANIC_RE.exec(line)?.[1] ?? null;
  }
  return scan;
}

function countOf(results: TestResult[]): Counts {
  return {
    passed: results.filter((r) => r.verdict === 'ok').length,
    failed: results.filter((r) => r.verdict === 'fail').length,
    skipped: results.filter((r) => r.verdict === 'skip').length,
  };
}

function unfinishedReason(scan: Scan, qemuStatus: number | null): string {
  const parts: string[] = [];
  if (scan.kernel === null) parts.push('the VM never reported booting');
  if (scan.panic !== null) parts.push(`kernel panic: ${scan.panic}`);
  if (qemuStatus !== null && TIMEOUT_STATUSES.has(qemuStatus)) {
    parts.push('the VM run hit its time bound and was killed');
  } else if (qemuStatus !== null && qemuStatus !== 0) {
    parts.push(`qemu exited with status ${qemuStatus}`);
  }
  if (parts.length === 0) parts.push('the console ends before `SHIPOTE-SUITE done`');
  return `suite did not finish: ${parts.join('; ')}`;
}

function consistencyProblems(scan: Scan, counts: Counts): string[] {
  const problems: string[] = [];
  if (scan.duplicates.length > 0) problems.push(`duplicate results: ${scan.duplicates.join(', ')}`);
  const d = scan.declared;
  if (
    d &&
    (d.passed !== counts.passed || d.failed !== counts.failed || d.skipped !== counts.skipped)
  ) {
    const said = `${d.passed}/${d.failed}/${d.skipped}`;
    const seen = `${counts.passed}/${counts.failed}/${counts.skipped}`;
    problems.push(`suite declared passed/failed/skipped ${said} but the console shows ${seen}`);
  }
  if (scan.done && scan.results.length === 0) problems.push('the suite ran no tests');
  return problems;
}

/**
 * Parse a whole console log. `qemuStatus` (the exit status of `timeout qemu …`, or null when
 * unknown) only words the failure of a run that did not finish.
 */
export function parseConsole(text: string, qemuStatus: number | null = null): ConsoleReport {
  const scan = scanLines(text);
  const results = [...scan.results];
  if (!scan.done) {
    results.push({
      name: 'vm/suite-finished',
      verdict: 'fail',
      reason: unfinishedReason(scan, qemuStatus),
    });
  }
  const problems = consistencyProblems(scan, countOf(scan.results));
  if (problems.length > 0) {
    results.push({ name: 'vm/console-consistent', verdict: 'fail', reason: problems.join('; ') });
  }
  return {
    results,
    counts: countOf(results),
    done: scan.done,
    kernel: scan.kernel,
    details: scan.details,
  };
}

/** 0 when every test passed or was skipped and at least one passed; 1 otherwise. */
export function exitStatus(report: ConsoleReport): 0 | 1 {
  return report.counts.failed === 0 && report.counts.passed > 0 ? 0 : 1;
}

/**
 * Human summary: each result, the last detail lines of each failure, and last the count
 * line CI reads (`e2e-v2: N passed, …`).
 */
export function formatReport(report: ConsoleReport): string {
  const mark: Record<Verdict, string> = { ok: 'ok  ', fail: 'FAIL', skip: 'skip' };
  const lines = [`e2e-v2 results (kernel ${report.kernel ?? 'unknown'}):`];
  for (const r of report.results) {
    lines.push(`  ${mark[r.verdict]} ${r.name}${r.reason ? ` — ${r.reason}` : ''}`);
    if (r.verdict !== 'fail') continue;
    for (const d of (report.details[r.name] ?? []).slice(-DETAIL_LINES_MAX))
      lines.push(`       | ${d}`);
  }
  const c = report.counts;
  lines.push(`e2e-v2: ${c.passed} passed, ${c.failed} failed, ${c.skipped} skipped`);
  return `${lines.join('\n')}\n`;
}
