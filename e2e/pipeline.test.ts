/**
 * A fan-out/fan-in pipeline run by shipote in a memory-limited cgroup produces exactly
 * the bytes the equivalent shell pipeline produces. The producer's 200 000 lines go to
 * two branches (fan-out: each must get every byte), whose outputs merge into one sort
 * (fan-in: all bytes, EOF after the last producer). Branch records are 16 bytes and stdio
 * flushes 4096-byte blocks, so any chunked interleaving keeps records whole and the
 * sorted result is deterministic.
 */

import type { PipelineView } from '../core/engine/api.js';
import { cgroupVersion, shipoteSkipReason } from './harness/env.js';
import { pollUntil } from './harness/poll.js';
import { q } from './harness/shipote.js';
import { pipelineToml, workspaceToml } from './harness/specs.js';
import { useShipoteContainer } from './harness/suite.js';

const why = shipoteSkipReason();
const test = why ? it.skip : it;
const skipNote = why ? ` (skipped: ${why})` : '';
const cg = `[cgroup ${cgroupVersion}]`;
const mib = 1024 * 1024;

const produce = ['-w', '100000', '299999'];
const branchA = 's/^/a-0000000/';
const branchB = 's/^/b-0000000/';

describe(`pipelines on real pipes ${cg}${skipNote}`, () => {
  const s = useShipoteContainer(why);

  test(`fan-out/fan-in in 64 MiB ${cg}: output byte-identical to the shell pipeline`, async () => {
    const sh = s.shipote('fan');
    s.track(await sh.startDaemon());
    const rel = 'e2e/fan';
    const ws = await sh.createWorkspace(
      workspaceToml({ label: 'fan', memBytes: 64 * mib, cgroupPath: rel, enforce: { mem: 'log' } }),
    );
    const out = `${sh.dir}/fan.out`;
    const ref = `${sh.dir}/fan.ref`;
    const source = pipelineToml({
      label: 'fan',
      workspace: ws.id,
      nodes: [
        { label: 'produce', exec: '/bin/seq', argv: produce },
        { label: 'branch-a', exec: '/bin/sed', argv: [branchA] },
        { label: 'branch-b', exec: '/bin/sed', argv: [branchB] },
        { label: 'merge', exec: '/bin/sh', argv: ['-c', `sort > ${out}`] },
      ],
      edges: [
        [0, 1],
        [0, 2],
        [1, 3],
        [2, 3],
      ],
    });
    const file = await sh.writeSpec('fan.toml', source);
    const started = await sh.json<PipelineView>(['pipeline', 'run', file]);
    const done = await pollUntil(
      async () => {
        const p = (await sh.pipelines()).find((x) => x.id === started.id);
        return p?.nodes.every((n) => !n.alive && n.exit) ? p : undefined;
      },
      { what: 'every node of the fan pipeline to exit', timeoutMs: 60_000 },
    );
    expect(done.nodes.map((n) => [n.label, n.exit?.status])).toEqual([
      ['produce', 0],
      ['branch-a', 0],
      ['branch-b', 0],
      ['merge', 0],
    ]);

    const seq = `seq ${produce.join(' ')}`;
    await s.c.shOk(`{ ${seq} | sed ${q(branchA)}; ${seq} | sed ${q(branchB)}; } | sort > ${ref}`);
    const sizes = await s.c.shOk(`wc -c < ${ref}; wc -c < ${out}`);
    expect(sizes.split('\n').map((x) => x.trim())).toEqual(['6400000', '6400000', '']);
    const cmp = await s.c.sh(`cmp ${ref} ${out}`);
    expect({ exit: cmp.exitCode, diff: cmp.stdout + cmp.stderr }).toEqual({ exit: 0, diff: '' });
    const events = `${s.cgroups.dir('memory', rel)}/${s.cgroups.oomEventsFile}`;
    const ooms = await s.c.shOk(`awk '$1 == "oom_kill" { print $2 }' ${events}`);
    expect(ooms.trim()).toBe('0');
  }, 120_000);
});
