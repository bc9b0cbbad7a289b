/**
 * Lifecycle hygiene with a real kernel: `workspace stop` leaves no process behind (not
 * even one that ignores SIGTERM or escaped the process tree) and removes the workspace's
 * cgroup dirs; a command inherits no daemon fd; a daemon killed with SIGKILL takes its
 * children with it, and the next daemon restores the workspaces with their ids and
 * relaunches the supervised pipeline.
 */

import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { PipelineView } from '../core/engine/api.js';
import { cgroupVersion, repoRoot, shipoteSkipReason } from './harness/env.js';
import { pollUntil } from './harness/poll.js';
import type { Shipote } from './harness/shipote.js';
import { pipelineToml, workspaceToml } from './harness/specs.js';
import { type SuiteContext, useShipoteContainer } from './harness/suite.js';

const why = shipoteSkipReason();
const test = why ? it.skip : it;
const skipNote = why ? ` (skipped: ${why})` : '';
const cg = `[cgroup ${cgroupVersion}]`;
const mib = 1024 * 1024;
const fixtures = '/src/e2e/fixtures';

/** Pids in the workspace's cgroup (pids controller), as the kernel lists them. */
async function cgroupPids(s: SuiteContext, rel: string): Promise<number[]> {
  const out = await s.c.shOk(`cat ${s.cgroups.dir('pids', rel)}/cgroup.procs`);
  return out.split('\n').filter(Boolean).map(Number);
}

async function exists(s: SuiteContext, dir: string): Promise<boolean> {
  return (await s.c.sh(`test -d ${dir}`)).exitCode === 0;
}

describe(`lifecycle hygiene ${cg}${skipNote}`, () => {
  const s = useShipoteContainer(why);

  test(`stop ${cg}: no process of the workspace is left, its cgroup dirs are removed`, async () => {
    const sh = s.shipote('stop');
    s.track(await sh.startDaemon());
    const rel = 'e2e/stop';
    const spec = workspaceToml({ label: 'stop', memBytes: 64 * mib, nproc: 16, cgroupPath: rel });
    const ws = await sh.createWorkspace(spec);
    const dirs = [s.cgroups.dir('memory', rel), s.cgroups.dir('pids', rel)];
    for (const dir of dirs) expect(await exists(s, dir)).toBe(true);

    await sh.run(ws.id, ['/bin/sleep', '1000']);
    const stubborn = await sh.run(ws.id, ['/bin/sh', `${fixtures}/ignore-term.sh`]);
    await pollUntil(
      async () => ((await sh.logs(ws.id, stubborn.id)) === 'ready\n' ? 1 : undefined),
      {
        what: 'ignore-term.sh to install its trap',
      },
    );
    const orphaner = await sh.run(ws.id, ['/bin/sh', `${fixtures}/orphan-grandchild.sh`]);
    expect((await sh.waitExit(ws.id, orphaner.id)).exit?.status).toBe(0);
    const grandchild = Number((await sh.logs(ws.id, orphaner.id)).trim());
    const before = await cgroupPids(s, rel);
    expect(before).toContain(grandchild);
    expect(before.length).toBeGreaterThanOrEqual(4); // sleep, sh + its sleep, grandchild

    const stop = await sh.json<{ reaped: number }>(['workspace', 'stop', ws.id, '--grace', '500']);
    expect(stop.reaped).toBeGreaterThanOrEqual(2);
    await sh.waitGone(before, `every process of the stopped workspace (${before.join(' ')})`);
    for (const dir of dirs) {
      await pollUntil(async () => ((await exists(s, dir)) ? undefined : true), {
        what: `${dir} to be removed`,
      });
    }
    expect(await sh.pidsWithArgs('ignore-term.sh')).toEqual([]);
    expect(await sh.pidsWithArgs('sleep 1000')).toEqual([]);
  }, 90_000);

  test(`autostart ${cg}: the first CLI call starts one detached daemon and returns`, async () => {
    const sh = s.shipote('autostart', { autostart: true });
    await sh.prepare();
    expect(await sh.daemonPids()).toEqual([]);
    // A daemon that kept the CLI's stdio would hold the exec open until its timeout (137).
    const first = await sh.cli(['health', '--json'], 30_000);
    expect({ exit: first.exitCode, stderr: first.stderr }).toMatchObject({ exit: 0 });
    expect(first.stderr).toMatch(/starting one/);
    const daemons = await sh.daemonPids();
    expect(daemons).toHaveLength(1);
    for (const pid of daemons) s.track(pid);
    const second = await sh.cli(['health', '--json']);
    expect({ exit: second.exitCode, stderr: second.stderr }).toEqual({ exit: 0, stderr: '' });
    expect(await sh.daemonPids()).toEqual(daemons);
  }, 60_000);

  test(`fd hygiene ${cg}: a command inherits only fds 0, 1 and 2 from the daemon`, async () => {
    const sh = s.shipote('fds');
    s.track(await sh.startDaemon());
    const ws = await sh.createWorkspace(workspaceToml({ label: 'fds', cgroupPath: 'e2e/fds' }));
    // The listing runs as `sh -c SCRIPT`, so no script file descriptor of its own shows.
    const script = readFileSync(path.join(repoRoot, 'e2e/fixtures/list-fds.sh'), 'utf8');
    const cmd = await sh.run(ws.id, ['/bin/sh', '-c', script]);
    expect((await sh.waitExit(ws.id, cmd.id)).exit?.status).toBe(0);
    expect(await sh.logs(ws.id, cmd.id)).toBe('0\n1\n2\n');
  }, 60_000);

  test(`daemon kill -9 ${cg}: children die; restart restores ids and the pipeline`, async () => {
    const sh = s.shipote('restart');
    const oldDaemon = s.track(await sh.startDaemon());
    const rel = 'e2e/restart';
    const ws = await sh.createWorkspace(
      workspaceToml({ label: 'restart', memBytes: 64 * mib, nproc: 32, cgroupPath: rel }),
    );
    const oneShot = await sh.run(ws.id, ['/bin/sleep', '1002']);
    const source = pipelineToml({
      label: 'ticker',
      workspace: ws.id,
      restartOnFailure: true,
      nodes: [
        { label: 'tick', exec: '/bin/sh', argv: [`${fixtures}/tick.sh`] },
        { label: 'sink', exec: '/bin/cat', argv: [] },
      ],
      edges: [[0, 1]],
    });
    const before = await runTicker(sh, source);
    await pollUntil(
      async () => {
        const state = await s.c.sh(`cat ${sh.statePath}`);
        return state.stdout.includes(ws.id) && state.stdout.includes('ticker') ? true : undefined;
      },
      { what: 'the snapshot to hold the workspace and the supervised pipeline' },
    );
    const oldPids = [...(await cgroupPids(s, rel)), oneShot.pid ?? 0];
    expect(oldPids.length).toBeGreaterThanOrEqual(3);

    await sh.killDaemon(oldDaemon, 'KILL');
    await sh.waitGone(oldPids, `the old daemon's children (${oldPids.join(' ')}) to die with it`);
    // tick.sh's `usleep 200000` may have been forked after the sampling above: a grandchild
    // that ends by itself within 200 ms of its shell. Nothing else may be left.
    await pollUntil(async () => ((await cgroupPids(s, rel)).length === 0 ? true : undefined), {
      what: 'the workspace cgroup to be empty',
      timeoutMs: 3000,
    });

    s.track(await sh.startDaemon());
    const restored = (await sh.workspaces()).find((w) => w.id === ws.id);
    expect(restored).toMatchObject({ id: ws.id, label: 'restart', state: 'running' });
    const relaunched = await pollUntil(
      async () => {
        const p = (await sh.pipelines()).find((x) => x.label === 'ticker');
        return p?.state === 'running' && p.nodes.every((n) => n.alive) ? p : undefined;
      },
      { what: 'the supervised pipeline to be relaunched and running' },
    );
    const newPids = relaunched.nodes.map((n) => n.pid);
    for (const pid of newPids) expect(oldPids).not.toContain(pid);
    expect(before.nodes.map((n) => n.label)).toEqual(relaunched.nodes.map((n) => n.label));
    expect(await sh.daemonPids()).toHaveLength(1);
    expect(await sh.daemonPids()).not.toContain(oldDaemon);
  }, 120_000);
});

async function runTicker(sh: Shipote, source: string): Promise<PipelineView> {
  const file = await sh.writeSpec('ticker.toml', source);
  const started = await sh.json<PipelineView>(['pipeline', 'run', file]);
  expect(started).toMatchObject({ label: 'ticker', supervised: true });
  return pollUntil(
    async () => {
      const p = (await sh.pipelines()).find((x) => x.id === started.id);
      return p?.nodes.every((n) => n.alive && n.pid) ? p : undefined;
    },
    { what: 'the ticker pipeline to run' },
  );
}
