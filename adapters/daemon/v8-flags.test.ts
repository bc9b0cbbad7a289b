/**
 * The daemon's V8 flags are ones this Node's V8 knows, and they do what v8-flags.ts says:
 * a burst of calls to a small function does not send it to the optimising compiler, a hot
 * function still gets there. Checked in a child `node --trace-opt` that sets the flags at run
 * time the way `daemonMain` does (tiering decisions are counted in bytecode executed, not in
 * time: the outcome does not depend on the machine's speed). The child runs without on-stack
 * replacement, which would otherwise optimise the calling loop first and inline `small`.
 */

import { spawnSync } from 'node:child_process';
import { daemonV8Flags, earlyOptFlag, liteModeFlag } from './v8-flags.js';

const script = `
const flags = JSON.parse(process.argv[1]);
for (const flag of flags) require('node:v8').setFlagsFromString(flag);
function small(a) { return a + 1; }
let x = 0;
for (let i = 0; i < Number(process.argv[2]); i++) x = small(x);
`;

/** Whether V8 marked `small` for optimisation after `calls` calls. */
function marked(flags: string[], calls: number): boolean {
  const out = spawnSync(
    process.execPath,
    ['--no-use-osr', '--trace-opt', '-e', script, JSON.stringify(flags), String(calls)],
    { encoding: 'utf8' },
  );
  expect(out.status).toBe(0);
  return /marking \S+ <JSFunction small /.test(out.stdout);
}

describe('daemon V8 flags', () => {
  it('are the early-opt limit, and lite mode only when asked', () => {
    expect(daemonV8Flags({})).toEqual([earlyOptFlag]);
    expect(daemonV8Flags({ SHIPOTE_DAEMON_LITE: '0' })).toEqual([earlyOptFlag]);
    expect(daemonV8Flags({ SHIPOTE_DAEMON_LITE: '1' })).toEqual([earlyOptFlag, liteModeFlag]);
  });

  it('are known to this V8', () => {
    const options = spawnSync(process.execPath, ['--v8-options'], { encoding: 'utf8' }).stdout;
    for (const flag of daemonV8Flags({ SHIPOTE_DAEMON_LITE: '1' })) {
      expect(options).toContain(`  ${flag.split('=')[0]} (`);
    }
  });

  it('keep a burst of calls to a small function out of the optimising compiler', () => {
    expect(marked([], 20_000)).toBe(true);
    expect(marked(daemonV8Flags({}), 20_000)).toBe(false);
  });

  it('still optimise a hot small function', () => {
    expect(marked(daemonV8Flags({}), 200_000)).toBe(true);
  });
});
