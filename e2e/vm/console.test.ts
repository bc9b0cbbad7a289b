import { exitStatus, formatReport, parseConsole } from './console.js';

const BOOT = 'SHIPOTE-VM booted kernel=6.1.0-56-cloud-amd64 cpus=2 uptime_s=3.42';

function consoleOf(...lines: string[]): string {
  return `${lines.join('\r\n')}\r\n`;
}

describe('parseConsole', () => {
  it('counts ok, fail and skip lines and keeps reasons', () => {
    const report = parseConsole(
      consoleOf(
        BOOT,
        '# kernel/a: 12 ms',
        'SHIPOTE-TEST ok kernel/a',
        'SHIPOTE-TEST fail shipote/oom: expected SIGKILL: got exit 0',
        'SHIPOTE-TEST skip shipote/caps: dist/ not built',
        'SHIPOTE-SUITE done passed=1 failed=1 skipped=1',
      ),
    );
    expect(report.counts).toEqual({ passed: 1, failed: 1, skipped: 1 });
    expect(report.results).toEqual([
      { name: 'kernel/a', verdict: 'ok', reason: null },
      { name: 'shipote/oom', verdict: 'fail', reason: 'expected SIGKILL: got exit 0' },
      { name: 'shipote/caps', verdict: 'skip', reason: 'dist/ not built' },
    ]);
    expect(report.done).toBe(true);
    expect(report.kernel).toBe('6.1.0-56-cloud-amd64');
  });

  it('ignores result-looking text on detail lines and in kernel messages', () => {
    const report = parseConsole(
      consoleOf(
        BOOT,
        '# shipote/x: stdout was "SHIPOTE-TEST ok fake"',
        '[   12.3] random: crng init done',
        'SHIPOTE-TEST ok shipote/x',
        'SHIPOTE-SUITE done passed=1 failed=0 skipped=0',
      ),
    );
    expect(report.results.map((r) => r.name)).toEqual(['shipote/x']);
  });

  it('reads a result line that a kernel message prefixed without a newline', () => {
    const report = parseConsole(
      consoleOf(
        BOOT,
        '[   40.1] Memory cgroup out of memorySHIPOTE-TEST ok kernel/oom',
        'SHIPOTE-SUITE done passed=1 failed=0 skipped=0',
      ),
    );
    expect(report.counts).toEqual({ passed: 1, failed: 0, skipped: 0 });
  });
});

describe('parseConsole on a run that cannot count as green', () => {
  it.each([
    [null, 'suite did not finish: the console ends before `SHIPOTE-SUITE done`'],
    [124, 'suite did not finish: the VM run hit its time bound and was killed'],
    [1, 'suite did not finish: qemu exited with status 1'],
  ])('fails a run without the done line (qemu status %p)', (qemuStatus, reason) => {
    const report = parseConsole(consoleOf(BOOT, 'SHIPOTE-TEST ok kernel/a'), qemuStatus);
    expect(report.results.at(-1)).toEqual({ name: 'vm/suite-finished', verdict: 'fail', reason });
    expect(report.counts).toEqual({ passed: 1, failed: 1, skipped: 0 });
    expect(exitStatus(report)).toBe(1);
  });

  it('names a kernel panic and a VM that never booted', () => {
    const text = consoleOf('[    1.0] Kernel panic - not syncing: No working init found.');
    const report = parseConsole(text, 0);
    expect(report.results[0]?.reason).toBe(
      'suite did not finish: the VM never reported booting; ' +
        'kernel panic: No working init found.',
    );
  });

  it('fails when the declared counts disagree with the lines seen (a lost line)', () => {
    const report = parseConsole(
      consoleOf(BOOT, 'SHIPOTE-TEST ok kernel/a', 'SHIPOTE-SUITE done passed=2 failed=0 skipped=0'),
    );
    expect(report.results.at(-1)).toEqual({
      name: 'vm/console-consistent',
      verdict: 'fail',
      reason: 'suite declared passed/failed/skipped 2/0/0 but the console shows 1/0/0',
    });
    expect(exitStatus(report)).toBe(1);
  });

  it('fails on a duplicate test name and on a suite that ran nothing', () => {
    const dup = parseConsole(
      consoleOf(BOOT, 'SHIPOTE-TEST ok a/b', 'SHIPOTE-TEST ok a/b', 'SHIPOTE-SUITE done'),
    );
    expect(dup.results.at(-1)?.reason).toBe('duplicate results: a/b');
    const empty = parseConsole(consoleOf(BOOT, 'SHIPOTE-SUITE done passed=0 failed=0 skipped=0'));
    expect(empty.results).toEqual([
      { name: 'vm/console-consistent', verdict: 'fail', reason: 'the suite ran no tests' },
    ]);
  });
});

describe('exitStatus', () => {
  it.each([
    ['all passed', 0, ['SHIPOTE-TEST ok a/x']],
    ['passes and skips', 0, ['SHIPOTE-TEST ok a/x', 'SHIPOTE-TEST skip a/y: no addon']],
    ['only skips', 1, ['SHIPOTE-TEST skip a/y: no addon']],
    ['a failure', 1, ['SHIPOTE-TEST ok a/x', 'SHIPOTE-TEST fail a/y: boom']],
  ])('with %s it returns %p', (_label, status, lines) => {
    const report = parseConsole(consoleOf(BOOT, ...(lines as string[]), 'SHIPOTE-SUITE done'));
    expect(exitStatus(report)).toBe(status);
  });
});

describe('formatReport', () => {
  it('shows the detail lines of a failed test, not those of a passed one', () => {
    const report = parseConsole(
      consoleOf(
        BOOT,
        '# a/x: took 3 ms',
        'SHIPOTE-TEST ok a/x',
        '# a/y: hog exit: {"signal":null}',
        '# a/y: AssertionError: expected SIGKILL',
        'SHIPOTE-TEST fail a/y: expected SIGKILL',
        'SHIPOTE-SUITE done',
      ),
    );
    expect(report.details['a/y']).toEqual([
      'hog exit: {"signal":null}',
      'AssertionError: expected SIGKILL',
    ]);
    const text = formatReport(report);
    expect(text).toContain('  FAIL a/y — expected SIGKILL\n       | hog exit: {"signal":null}\n');
    expect(text).not.toContain('took 3 ms');
  });

  it('ends with the count line the test driver reads', () => {
    const report = parseConsole(
      consoleOf(
        BOOT,
        'SHIPOTE-TEST ok a/x',
        'SHIPOTE-TEST skip a/y: no addon',
        'SHIPOTE-SUITE done',
      ),
    );
    const lines = formatReport(report).trimEnd().split('\n');
    expect(lines).toEqual([
      'e2e-v2 results (kernel 6.1.0-56-cloud-amd64):',
      '  ok   a/x',
      '  skip a/y — no addon',
      'e2e-v2: 1 passed, 0 failed, 1 skipped',
    ]);
  });
});
