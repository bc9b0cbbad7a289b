/**
 * One container per test file, its cgroups delegated, and one shipote (own socket, state
 * and daemon) per test. Daemons a test started are killed after it, pass or fail; the
 * container (and so everything in it) goes when the file is done.
 */

import { type DelegatedCgroups, mountDelegatedCgroups } from './cgroups.js';
import { acquireContainer, type E2eContainer } from './container.js';
import { Shipote, type ShipoteOptions } from './shipote.js';

export interface SuiteContext {
  c: E2eContainer;
  cgroups: DelegatedCgroups;
  /** A shipote with its own dir; `name` must be unique in the file. */
  shipote(name: string, options?: ShipoteOptions): Shipote;
  /** Remembers a daemon pid so it is killed after the test. */
  track(pid: number): number;
}

export function useShipoteContainer(why: string | null): SuiteContext {
  const daemons: number[] = [];
  const ctx = {
    shipote(name: string, options: ShipoteOptions = {}) {
      const daemonPrefix = options.daemonPrefix ?? ctx.cgroups.enterDaemonCgroup;
      return new Shipote(ctx.c, name, { ...options, daemonPrefix });
    },
    track(pid: number) {
      daemons.push(pid);
      return pid;
    },
  } as SuiteContext;
  if (why) return ctx;

  beforeAll(async () => {
    ctx.c = await acquireContainer();
    ctx.cgroups = await mountDelegatedCgroups(ctx.c);
  }, 60_000);

  afterEach(async () => {
    const pids = daemons.splice(0).join(' ');
    if (pids && ctx.c) await ctx.c.sh(`kill -KILL ${pids} 2>/dev/null; :`);
  }, 30_000);

  afterAll(async () => {
    await ctx.c?.release();
  }, 30_000);

  return ctx;
}
