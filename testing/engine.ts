/**
 * The real engine (`createSupervisor`) over the simulator's ports, for the adapters' tests:
 * the control server and the CLI talk to the very engine the daemon runs, with one
 * in-memory clock and kernel (the simulator's), no faults, and host binaries played by
 * scripts (`/bin/sleep 10` sleeps ten virtual seconds, see `hostScript` in sim/script.ts).
 * Virtual time moves only when a test calls `advance`; `pump` fires what is due *now*
 * (the exit of a killed process) on every real tick, so asynchronous calls such as
 * `stopWorkspace(ref, 0)` settle without a test driving the clock.
 */

import type { Supervisor, SupervisorOptions } from '../core/engine/api.js';
import { createSupervisor } from '../core/engine/supervisor.js';
import type { CgroupCaps, Ports } from '../core/ports.js';
import { SimCgroups } from '../sim/cgroups.js';
import { SimClock } from '../sim/clock.js';
import { SimEventLog } from '../sim/eventlog.js';
import { Faults } from '../sim/faults.js';
import { SimIds } from '../sim/ids.js';
import { SimKernel } from '../sim/kernel.js';
import { Prng } from '../sim/prng.js';
import { SimStore } from '../sim/store.js';
import { Trace } from '../sim/trace.js';

/** A host without a writable cgroup tree: limits are accounted, not enforced. */
export const NO_CGROUPS: CgroupCaps = {
  version: 'none',
  delegated: false,
  controllers: [],
  writable: false,
  userNamespaces: false,
  pidfd: true,
  cloneIntoCgroup: false,
  root: null,
  reasons: ['no cgroup filesystem mounted'],
};

export interface SimEngineOptions {
  seed?: number;
  caps?: CgroupCaps;
  supervisor?: SupervisorOptions;
  /** Call `sup.start()` (restore) now; false when the code under test starts it. */
  start?: boolean;
}

export interface SimEngine {
  sup: Supervisor;
  clock: SimClock;
  kernel: SimKernel;
  cgroups: SimCgroups;
  store: SimStore;
  eventLog: SimEventLog;
  ports: Ports;
  /** Move virtual time forward, firing every timer due on the way. */
  advance(ms: number): void;
  /** Fire what is due now on every real tick until the returned function is called. */
  pump(): () => void;
}

export function simEngine(options: SimEngineOptions = {}): SimEngine {
  const prng = new Prng(options.seed ?? 1);
  const clock = new SimClock();
  const nowMs = () => clock.nowMs();
  const faults = Faults.none(prng.fork());
  const trace = new Trace(false, nowMs);
  const alive = () => true;
  const kernel = new SimKernel(clock, faults, trace, alive);
  kernel.hostBinaries = true;
  const cgroups = new SimCgroups(kernel, options.caps ?? NO_CGROUPS, faults, trace);
  const store = new SimStore(faults, trace, nowMs, alive, () => {});
  const eventLog = new SimEventLog(nowMs);
  const ports: Ports = {
    clock,
    kernel: kernel.port(0),
    cgroups: cgroups.port(0),
    store: store.port(0),
    eventLog: eventLog.port(0),
    ids: new SimIds(prng.fork(), () => clock.wallMs()),
  };
  const sup = createSupervisor(ports, options.supervisor);
  if (options.start !== false) sup.start();
  return {
    sup,
    clock,
    kernel,
    cgroups,
    store,
    eventLog,
    ports,
    advance: (ms) => clock.advance(ms),
    pump() {
      const timer = setInterval(() => clock.advance(0), 1);
      timer.unref();
      return () => clearInterval(timer);
    },
  };
}
