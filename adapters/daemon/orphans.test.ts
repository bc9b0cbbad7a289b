/**
 * Process trees cannot escape, cgroups off (the daemon is a child subreaper, records the
 * process groups it starts in its ledger, and marks its children's environment). Three
 * escapes, each ended on stop AND after `kill -9` of the daemon and a restart:
 *  - `sh -c 'sleep 1000; echo'`: the sleep is in the command's group, not its child;
 *  - a `setsid` grandchild: its own session and group, outside every group we started;
 *  - a pipeline consumer's child after node 0 (the group's leader) has exited.
 * Processes are found and checked by pid, ppid, pgid and sid in /proc, never by name.
 */

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import type { CommandView, PipelineView } from '../../core/engine/api.js';
import { Harness, harnessSkipReason, waitFor } from '../../testing/harness.js';
import { readPidStat, scanProcs } from '../linux/trees.js';

const why = harnessSkipReason();
const maybe = why ? describe.skip : describe;
if (why) console.warn(`${import.meta.url.split('/').pop()}: skipped: ${why}`);
jest.setTimeout(60_000);

interface Proc {
  pid: number;
  startTicks: number;
}

/** Alive: the same process (pid and start time), not a zombie. */
function alive(p: Proc): boolean {
  const now = readPidStat(p.pid);
  return now !== null && now.startTicks === p.startTicks && now.state !== 'Z';
}

/** The one live process `pick` selects from /proc, once there is exactly one. */
async function findOne(what: string, pick: (p: ReturnType<typeof readPidStat> & {}) => boolean) {
  return waitFor(what, () => {
    const found = [...scanProcs().values()].filter((p) => p.state !== 'Z' && pick(p));
    return found.length === 1 ? { pid: found[0]!.pid, startTicks: found[0]!.startTicks } : null;
  });
}

const consumerSpec = `label = "leaky"
workspace = "w"
[[nodes]]
label = "head"
payload.Native = { exec = "/bin/sh", argv = ["-c", "echo go"], envp = [] }
[[nodes]]
label = "tail"
payload.Native = { exec = "/bin/sh", argv = ["-c", "sleep 1000 & exec sleep 1001"], envp = [] }
[[edges]]
from = 0
from_output = "stdout"
to = 1
to_input = "stdin"
`;

maybe(`process trees cannot escape, cgroups off${why ? ` (skipped: ${why})` : ''}`, () => {
  let h: Harness;
  const strays: Proc[] = [];

  beforeEach(async () => {
    h = new Harness();
    await h.startDaemon();
    writeFileSync(join(h.dir, 'ws.toml'), 'label = "w"\n');
    await h.json(['workspace', 'create', join(h.dir, 'ws.toml')]);
  });

  afterEach(async () => {
    await h.close();
    // A failed test must not leave its escapees behind: ours, by pid and start time.
    for (const p of strays.splice(0)) if (alive(p)) process.kill(p.pid, 'SIGKILL');
  });

  /** Starts the command and returns the escapee it leaves below itself. */
  async function command(
    script: string,
    escapee: (pid: number) => (p: Proc & { ppid: number; pgid: number; sid: number }) => boolean,
  ) {
    const run = await h.json<{ pid: number }>(['run', 'w', '--', '/bin/sh', '-c', script]);
    const found = await findOne('the grandchild', escapee(run.pid));
    strays.push(found);
    return { leader: run.pid, grandchild: found };
  }

  const inGroup = (leader: number) => (p: { ppid: number; pgid: number; pid: number }) =>
    p.ppid === leader && p.pgid === leader;
  const ownSession = (leader: number) => (p: { ppid: number; sid: number; pid: number }) =>
    p.ppid === leader && p.sid === p.pid;

  const cases = [
    ['sh -c "sleep 1000; echo" (a child in the group)', 'sleep 1000; echo', inGroup],
    ['a setsid grandchild', 'setsid sleep 1000 & exec sleep 1001', ownSession],
  ] as const;

  it.each(cases)('%s ends on workspace stop', async (_, script, escapee) => {
    const { grandchild } = await command(script, escapee);
    await h.json(['workspace', 'stop', 'w']);
    await waitFor('the grandchild to end', () => !alive(grandchild));
  });

  it.each(cases)(
    '%s ends after kill -9 of the daemon and a restart',
    async (_, script, escapee) => {
      const { grandchild } = await command(script, escapee);
      await h.killDaemon('SIGKILL');
      expect(alive(grandchild)).toBe(true); // escaped: only the next daemon can end it
      await h.startDaemon();
      await waitFor('the grandchild to end', () => !alive(grandchild));
      expect(h.daemonLog).toMatch(/ended \d+ process\(es\) left by the previous daemon/);
    },
  );

  /** Runs the pipeline; returns the consumer's child once node 0 has exited. */
  async function leakyPipeline() {
    writeFileSync(join(h.dir, 'p.toml'), consumerSpec);
    const view = await h.json<PipelineView>(['pipeline', 'run', join(h.dir, 'p.toml')]);
    const [head, tail] = view.nodes.map((n) => n.pid ?? 0);
    const child = await findOne('the consumer child', (p) => p.ppid === tail && p.pgid === head);
    strays.push(child);
    await waitFor('node 0 to exit', () => readPidStat(head!) === null);
    return { id: view.id, child };
  }

  it("a pipeline consumer's child ends on pipeline stop after node 0 exited", async () => {
    const { id, child } = await leakyPipeline();
    await h.json(['pipeline', 'stop', id]);
    await waitFor("the consumer's child to end", () => !alive(child));
  });

  it("a pipeline consumer's child ends after kill -9 of the daemon and a restart", async () => {
    const { child } = await leakyPipeline();
    await h.killDaemon('SIGKILL');
    expect(alive(child)).toBe(true);
    await h.startDaemon();
    await waitFor("the consumer's child to end", () => !alive(child));
  });

  it('an orphan (re-parented to the daemon) ends with its workspace, not its command', async () => {
    const daemonPid = h.daemon?.pid ?? 0;
    const gate = join(h.dir, 'gate');
    const script = `(setsid sleep 1000 &); while [ ! -e ${gate} ]; do sleep 0.05; done; exit 3`;
    const run = await h.json<{ pid: number }>([
      'run',
      'w',
      '--label',
      'leaver',
      '--',
      '/bin/sh',
      '-c',
      script,
    ]);
    // Its parent (the subshell) is gone: the subreaper, not init, is its parent now.
    const orphan = await findOne(
      'the orphan',
      (p) => p.ppid === daemonPid && p.sid === p.pid && p.pid !== run.pid,
    );
    strays.push(orphan);
    writeFileSync(gate, '');
    const done = await waitFor('the command to exit', async () => {
      const list = await h.json<CommandView[]>(['commands', 'w']);
      return list.find((c) => c.label === 'leaver' && c.exit !== null);
    });
    expect(done.exit?.code).toBe(3); // the pidfd watcher kept its exit: not reaped for it
    // Like a grandchild in the workspace's cgroup, it lives until the workspace stops.
    expect(alive(orphan)).toBe(true);
    await h.json(['workspace', 'stop', 'w']);
    // Ended, and reaped by the daemon: not even a zombie is left in /proc.
    await waitFor('the orphan to be gone from /proc', () => {
      const now = readPidStat(orphan.pid);
      return now === null || now.startTicks !== orphan.startTicks;
    });
  });
});
