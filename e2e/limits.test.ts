/**
 * Resource limits enforced by the kernel, driven through shipote's CLI in the container:
 * a memory limit makes the kernel OOM-kill the offending command (and shipote reports it),
 * a pids limit makes fork fail inside while the workspace survives, and RLIMIT_NOFILE is
 * what the command observes.
 */

import type { CgroupCaps } from '../core/ports.js';
import { cgroupVersion, shipoteSkipReason } from './harness/env.js';
import { pollUntil } from './harness/poll.js';
import { workspaceToml } from './harness/specs.js';
import { useShipoteContainer } from './harness/suite.js';

const why = shipoteSkipReason();
const test = why ? it.skip : it;
const skipNote = why ? ` (skipped: ${why})` : '';
const cg = `[cgroup ${cgroupVersion}]`;
const mib = 1024 * 1024;

describe(`kernel-enforced limits through shipote ${cg}${skipNote}`, () => {
  const s = useShipoteContainer(why);

  test(`caps ${cg}: shipote sees the delegated cgroup it owns, with memory and pids`, async () => {
    const sh = s.shipote('caps');
    s.track(await sh.startDaemon());
    const caps = await sh.json<CgroupCaps>(['caps']);
    expect(caps).toMatchObject({ version: cgroupVersion, delegated: true, writable: true });
    expect(caps.controllers).toEqual(expect.arrayContaining(['memory', 'pids']));
    expect(caps.root).toBe(s.cgroups.dir('memory', ''));
  }, 60_000);

  test(`memory limit ${cg}: the kernel OOM-kills it; shipote reports 137 and ev=oom`, async () => {
    const sh = s.shipote('oom');
    s.track(await sh.startDaemon());
    const cgroupPath = 'e2e/oom';
    const ws = await sh.createWorkspace(
      workspaceToml({ label: 'oom', memBytes: 32 * mib, cgroupPath, enforce: { mem: 'log' } }),
    );
    const dir = s.cgroups.dir('memory', cgroupPath);
    expect((await s.c.shOk(`cat ${dir}/${s.cgroups.memLimitFile}`)).trim()).toBe(String(32 * mib));

    const cmd = await sh.run(ws.id, ['/bin/sh', '/src/e2e/fixtures/hog-memory.sh', '128M']);
    const done = await sh.waitExit(ws.id, cmd.id);
    expect(done.exit).toMatchObject({ status: 137, signal: 'SIGKILL' });

    const events = `${dir}/${s.cgroups.oomEventsFile}`;
    const kernelOoms = await s.c.shOk(`awk '$1 == "oom_kill" { print $2 }' ${events}`);
    expect(Number(kernelOoms)).toBeGreaterThanOrEqual(1);
    const oom = await pollUntil(
      async () => (await sh.events()).find((l) => /\bev=oom\b/.test(l) && l.includes(ws.id)),
      { what: `an ev=oom event for ${ws.id}` },
    );
    expect(oom).toMatch(/oom_kills=[1-9]/);
    const wsView = (await sh.workspaces()).find((w) => w.id === ws.id);
    expect(wsView?.state).toBe('running');
  }, 90_000);

  test(`memory limit ${cg}: kernel OOM kills of a supervised command → crash-loop`, async () => {
    const sh = s.shipote('oom-loop');
    s.track(await sh.startDaemon());
    const cgroupPath = 'e2e/oom-loop';
    const ws = await sh.createWorkspace(
      workspaceToml({ label: 'oom-loop', memBytes: 32 * mib, cgroupPath, enforce: { mem: 'log' } }),
    );
    const argv = ['/bin/sh', '/src/e2e/fixtures/hog-memory.sh', '128M'];
    const cmd = await sh.run(ws.id, argv, ['--restart-on-failure']);
    // Backoff 200, 400, 800 ms: the fourth death within the window trips the guard.
    const looped = await pollUntil(
      async () => {
        const view = await sh.command(ws.id, cmd.id);
        return view.state === 'crash-loop' ? view : undefined;
      },
      { what: `command ${cmd.id} to reach crash-loop`, timeoutMs: 30_000 },
    );
    expect(looped).toMatchObject({ alive: false, exit: { status: 137 } });
    expect(looped.restarts).toBeGreaterThanOrEqual(3);
    const dir = s.cgroups.dir('memory', cgroupPath);
    const events = `${dir}/${s.cgroups.oomEventsFile}`;
    const kernelOoms = await s.c.shOk(`awk '$1 == "oom_kill" { print $2 }' ${events}`);
    expect(Number(kernelOoms)).toBeGreaterThanOrEqual(looped.restarts + 1);
    const lines = await sh.events();
    expect(lines.some((l) => /\bev=crash-loop\b/.test(l) && l.includes(cmd.id))).toBe(true);
  }, 90_000);

  test(`pids limit ${cg}: fork fails inside; the workspace and its sentinel live on`, async () => {
    const sh = s.shipote('pids');
    s.track(await sh.startDaemon());
    const cgroupPath = 'e2e/pids';
    const ws = await sh.createWorkspace(
      workspaceToml({ label: 'pids', nproc: 4, cgroupPath, enforce: { nproc: 'log' } }),
    );
    const dir = s.cgroups.dir('pids', cgroupPath);
    expect((await s.c.shOk(`cat ${dir}/pids.max`)).trim()).toBe('4');

    const sentinel = await sh.run(ws.id, ['/bin/sleep', '300']);
    const bomb = await sh.run(ws.id, ['/bin/sh', '/src/e2e/fixtures/fork-until-fail.sh', '10']);
    const done = await sh.waitExit(ws.id, bomb.id);
    expect(done.exit?.status).not.toBe(0);
    // 4 pids: the sentinel, the fixture's shell, and two sleeps; the third fork fails.
    expect(await sh.logs(ws.id, bomb.id, 'stdout')).toBe('started 1\nstarted 2\n');
    expect(await sh.logs(ws.id, bomb.id, 'stderr')).toMatch(/can't fork/);
    expect(await s.c.shOk(`cat ${dir}/pids.events`)).toMatch(/^max [1-9]/m);

    const alive = await sh.command(ws.id, sentinel.id);
    expect(alive).toMatchObject({ alive: true, state: 'running' });
    expect((await sh.workspaces()).find((w) => w.id === ws.id)?.state).toBe('running');
    const stop = await sh.json<{ reaped: number }>(['workspace', 'stop', ws.id, '--grace', '0']);
    expect(stop.reaped).toBeGreaterThanOrEqual(1);
  }, 90_000);

  test.each([[64], [1000]])(
    `rlimit nofile ${cg}: a command in a workspace with nofile = %i observes it with ulimit -n`,
    async (nofile) => {
      const sh = s.shipote(`nofile-${nofile}`);
      s.track(await sh.startDaemon());
      const ws = await sh.createWorkspace(workspaceToml({ label: `nofile-${nofile}`, nofile }));
      const cmd = await sh.run(ws.id, ['/bin/sh', '-c', 'ulimit -n; ulimit -Hn']);
      const done = await sh.waitExit(ws.id, cmd.id);
      expect(done.exit?.status).toBe(0);
      expect(await sh.logs(ws.id, cmd.id)).toBe(`${nofile}\n${nofile}\n`);
    },
    60_000,
  );
});
