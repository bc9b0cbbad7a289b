/**
 * The log store under memory pressure, in the container: the daemon runs in a cgroup with
 * a 128 MiB memory limit, a command floods 1 GB of output into its logs, and a follower
 * (`logs -f`) that never reads is attached the whole time. The daemon must not grow with
 * the flood (the follower is paused by backpressure, the bytes go to disk from native
 * code): it is not OOM-killed, the flood ends, and the logs are still readable.
 */

import { cgroupVersion, shipoteSkipReason } from './harness/env.js';
import { pollUntil } from './harness/poll.js';
import { q } from './harness/shipote.js';
import { useShipoteContainer } from './harness/suite.js';

const why = shipoteSkipReason();
const test = why ? it.skip : it;
const skipNote = why ? ` (skipped: ${why})` : '';
const cg = `[cgroup ${cgroupVersion}]`;
const capBytes = 128 * 1024 * 1024;

describe(`logs under a memory-capped daemon ${cg}${skipNote}`, () => {
  const s = useShipoteContainer(why);

  test(`flood ${cg}: 1 GB, a stalled follower, the daemon capped at 128 MiB survives`, async () => {
    // v1: a memory cgroup of its own for the daemon; v2: the daemon's own cgroup, capped.
    const capDir =
      s.cgroups.version === 'v1'
        ? s.cgroups.rootChild('memory', 'logs-flood-cap')
        : s.cgroups.dir('memory', '');
    await s.c.shOk(`mkdir -p ${capDir} && echo ${capBytes} > ${capDir}/${s.cgroups.memLimitFile}`);
    const enter =
      s.cgroups.version === 'v1' ? `echo $$ > ${capDir}/tasks; ` : s.cgroups.enterDaemonCgroup;
    const sh = s.shipote('flood', { daemonPrefix: enter });
    const pid = s.track(await sh.startDaemon());
    const ws = await sh.createWorkspace('label = "fl"\n');
    // The flood starts once the follower is attached (the follower creates `go`).
    const go = `${sh.dir}/go`;
    const flood = await sh.run(ws.id, [
      '/bin/sh',
      '-c',
      `while [ ! -e ${go} ]; do sleep 0.05; done; head -c 1000000000 /dev/zero | tr '\\0' x`,
    ]);
    // `logs -f` into a pipe nobody reads: the CLI blocks on its stdout and stops reading.
    const cli = `node /src/bin/shipote.mjs logs fl ${flood.id} -f`;
    const follower = `${cli} 2>${sh.dir}/follower.err | sleep 100000`;
    await s.c.shOk(
      `setsid sh -c ${q(follower)} </dev/null >/dev/null 2>&1 & echo $! > ${sh.dir}/stall.pid`,
      {
        env: sh.env,
      },
    );
    const rss = async (field: string) =>
      Number(await s.c.shOk(`awk '/^${field}/ { print $2 }' /proc/${pid}/status`));
    const beforeKiB = await rss('VmRSS');
    await s.c.shOk(`(sleep 1; touch ${go}) >/dev/null 2>&1 &`);
    const done = await sh.waitExit(ws.id, flood.id, 240_000);
    expect(done.exit).toMatchObject({ status: 0 });
    expect(await sh.alive(pid)).toBe(true);
    const oomKills = await s.c.shOk(
      `awk '$1 == "oom_kill" { print $2 }' ${capDir}/${s.cgroups.oomEventsFile}; :`,
    );
    expect(Number(oomKills.trim() || '0')).toBe(0);
    const peakKiB = await rss('VmHWM');
    const cgPeak = await s.c.sh(`cat ${capDir}/memory.max_usage_in_bytes ${capDir}/memory.peak`);
    const followerErr = (await s.c.sh(`cat ${sh.dir}/follower.err`)).stdout;
    process.stderr.write(
      `flood: daemon VmRSS before ${beforeKiB} KiB, VmHWM ${peakKiB} KiB; ` +
        `cgroup peak ${cgPeak.stdout.trim()}; follower stderr: ${followerErr}\n`,
    );
    // The daemon never held the flood: its peak RSS stayed near where it was.
    expect(peakKiB - beforeKiB).toBeLessThan(24 * 1024);
    const tail = await pollUntil(
      async () => {
        const r = await sh.cli(['logs', 'fl', flood.id, '--tail', '10']);
        return r.exitCode === 0 ? r.stdout : undefined;
      },
      { what: 'the flood log to read' },
    );
    expect(tail).toBe('x'.repeat(10));
    await s.c.sh(`kill -- -$(cat ${sh.dir}/stall.pid) 2>/dev/null; :`);
  }, 300_000);
});
