import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import type { GroupEdge, GroupRequest, GroupTap, KernelEvent } from '../../core/ports.js';
import { childrenOfSelf, closeAfterAll, harness, pollUntil, req } from '../../testing/linux.js';

const h = harness();
const k = h.kernel;
closeAfterAll(h);

const sh = (script: string) => req('/bin/sh', ['-c', script]);
const edge = (from: number, to: number, fromOutput: 'stdout' | 'stderr' = 'stdout'): GroupEdge => ({
  from,
  fromOutput,
  to,
});

function group(over: Partial<GroupRequest>): GroupRequest {
  return { nodes: [], edges: [], taps: [], maxBytesPerSec: 0, ...over };
}

async function runGroup(key: string, g: GroupRequest) {
  const r = k.spawnGroup(key, g);
  if (!r.ok) throw new Error(r.error.message);
  for (const pid of r.value.pids) await h.exitOf(pid);
  return r.value;
}

async function logOf(key: string, bytes: number): Promise<string> {
  await pollUntil(
    () => (k.logBytes(key).stdout >= bytes ? true : undefined),
    `${bytes} B in ${key}`,
  );
  return h.text(key);
}

const shellOut = (script: string): string =>
  execFileSync('/bin/sh', ['-c', script], { maxBuffer: 64 << 20 }).toString();

describe('spawnGroup wiring', () => {
  it('is byte-exact versus a shell pipe over a plain edge', async () => {
    const expected = shellOut('seq 1 300000 | cat');
    await runGroup('plain', group({ nodes: [sh('seq 1 300000'), sh('cat')], edges: [edge(0, 1)] }));
    expect(await logOf('plain/1', expected.length)).toBe(expected);
  });

  it('gives every fan-out consumer every byte', async () => {
    const expected = shellOut('seq 1 300000');
    await runGroup(
      'fanout',
      group({
        nodes: [sh('seq 1 300000'), sh('cat'), sh('cat'), sh('sleep 0.2; cat')],
        edges: [edge(0, 1), edge(0, 2), edge(0, 3)],
      }),
    );
    for (const n of [1, 2, 3]) expect(await logOf(`fanout/${n}`, expected.length)).toBe(expected);
  });

  it('keeps feeding the other fan-out consumers after one of them exits early', async () => {
    const expected = shellOut('seq 1 300000');
    await runGroup(
      'early',
      group({
        nodes: [sh('seq 1 300000'), sh('head -n 1'), sh('cat'), sh('cat')],
        edges: [edge(0, 1), edge(0, 2), edge(0, 3)],
        taps: [{ edgeIndex: 2, sampleBytes: 8, replayChunks: 4, replayBytes: 0 }],
      }),
    );
    expect(await logOf('early/1', 2)).toBe('1\n');
    expect(await logOf('early/2', expected.length)).toBe(expected);
    expect(await logOf('early/3', expected.length)).toBe(expected);
    k.release('early');
  });

  it('gives a fan-in consumer all bytes and EOF when the last producer closes', async () => {
    const expected = shellOut('seq 1 200000');
    await runGroup(
      'fanin',
      group({
        nodes: [sh('seq 1 100000'), sh('sleep 0.2; seq 100001 200000'), sh('sort -n')],
        edges: [edge(0, 2), edge(1, 2)],
      }),
    );
    expect(await logOf('fanin/2', expected.length)).toBe(expected);
  });

  it('runs the nodes in one process group led by node 0, inside our session', async () => {
    const r = k.spawnGroup(
      'pgrp',
      group({ nodes: [sh('exec sleep 5'), sh('exec sleep 5')], edges: [edge(0, 1)] }),
    );
    if (!r.ok) throw new Error(r.error.message);
    // /proc/PID/stat: "pid (comm) state ppid pgrp session …"; comm is `sleep` here.
    const ids = (pid: number) => readFileSync(`/proc/${pid}/stat`, 'utf8').split(' ').slice(4, 6);
    const [leader, follower] = r.value.pids as [number, number];
    const ourSession = ids(process.pid)[1];
    expect(ids(leader)).toEqual([String(leader), ourSession]);
    expect(ids(follower)).toEqual([String(leader), ourSession]);
    process.kill(-leader, 'SIGKILL'); // the whole graph, as a shell job
    for (const pid of r.value.pids) expect((await h.exitOf(pid)).signal).toBe('SIGKILL');
    k.release('pgrp');
  });

  it('wires stderr edges and captures unwired outputs under key/node', async () => {
    await runGroup(
      'stderr',
      group({
        nodes: [sh('echo to-out; echo to-err >&2'), sh('tr a-z A-Z')],
        edges: [edge(0, 1, 'stderr')],
      }),
    );
    expect(await logOf('stderr/1', 7)).toBe('TO-ERR\n');
    expect(await logOf('stderr/0', 7)).toBe('to-out\n');
  });

  it('keeps bytes intact under a rate limit', async () => {
    const expected = shellOut('seq 1 20000');
    await runGroup(
      'rate',
      group({
        nodes: [sh('seq 1 20000'), sh('cat')],
        edges: [edge(0, 1)],
        maxBytesPerSec: 1 << 20,
      }),
    );
    expect(await logOf('rate/1', expected.length)).toBe(expected);
  });

  it('holds a pumped edge to the byte rate after the 1 s burst', async () => {
    // 150 kB at 50 kB/s: 50 kB pass at once (the burst), the rest needs at least 2 s.
    const started = Date.now();
    await runGroup(
      'slow',
      group({
        nodes: [sh('head -c 150000 /dev/zero'), sh('wc -c')],
        edges: [edge(0, 1)],
        maxBytesPerSec: 50_000,
      }),
    );
    expect(await logOf('slow/1', 7)).toBe('150000\n');
    expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
  });

  it('starts nothing when one node cannot exec, and reports no exits for it', () => {
    const before = childrenOfSelf().length;
    const r = k.spawnGroup(
      'broken',
      group({
        nodes: [sh('sleep 30'), req('/nonexistent/x', [])],
        edges: [edge(0, 1)],
      }),
    );
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatchObject({ method: 'spawnGroup', reason: 'NotFound' });
    return pollUntil(() => (childrenOfSelf().length <= before ? true : undefined), 'killed');
  });

  it.each([
    ['an edge to a missing node', [edge(0, 5)], [], 'edges[0]: node index out of range'],
    ['a duplicate edge', [edge(0, 1), edge(0, 1)], [], 'edges[1]: duplicate edge'],
    [
      'a tap on a missing edge',
      [edge(0, 1)],
      [{ edgeIndex: 3 }],
      'taps[0].edgeIndex: no such edge',
    ],
  ])('refuses %s', (_, edges, taps, message) => {
    const t = taps.map((x) => ({ sampleBytes: 1, replayChunks: 1, replayBytes: 0, ...x }));
    const r = k.spawnGroup('invalid', group({ nodes: [sh('true'), sh('true')], edges, taps: t }));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatchObject({ reason: 'InvalidArgument', message });
  });
});

describe('taps', () => {
  const tap = (over: Partial<GroupTap> = {}): GroupTap => ({
    edgeIndex: 0,
    sampleBytes: 16,
    replayChunks: 32,
    replayBytes: 0,
    ...over,
  });

  const readAll = (path: string): Promise<string> =>
    new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      const s = connect(path);
      s.on('data', (c: Buffer) => chunks.push(c));
      s.on('end', () => resolve(Buffer.concat(chunks).toString()));
      s.on('error', reject);
    });

  it('replays the edge to a reader that attaches after the producer ended', async () => {
    const expected = shellOut('seq 1 1000');
    const g = await runGroup(
      'tap',
      group({
        nodes: [sh('seq 1 1000'), sh('cat')],
        edges: [edge(0, 1)],
        taps: [tap()],
      }),
    );
    expect(await logOf('tap/1', expected.length)).toBe(expected);
    expect(g.taps).toHaveLength(1);
    await pollUntil(
      () =>
        k.flows().find((f) => f.key === 'tap')?.bytesTotal === expected.length ? true : undefined,
      'tap',
    );
    expect(await readAll(g.taps[0]!.socketPath)).toBe(expected);
    const sample = h.events.find((e) => e.type === 'tap-sample' && e.key === 'tap') as
      | Extract<KernelEvent, { type: 'tap-sample' }>
      | undefined;
    expect(sample?.key).toBe('tap');
    expect(Buffer.from(sample!.bytes).toString()).toBe(expected.slice(0, 16));
    expect(k.flows().find((f) => f.key === 'tap')).toMatchObject({
      key: 'tap',
      edgeIndex: 0,
      socketPath: g.taps[0]!.socketPath,
    });
    k.release('tap');
    expect(k.flows().filter((f) => f.key === 'tap')).toHaveLength(0);
  });

  it('streams live bytes to a reader attached while the producer runs', async () => {
    const r = k.spawnGroup(
      'live',
      group({
        nodes: [sh('echo first; sleep 0.3; echo second'), sh('cat >/dev/null')],
        edges: [edge(0, 1)],
        taps: [tap({ replayChunks: 0 })],
      }),
    );
    if (!r.ok) throw new Error(r.error.message);
    expect(await readAll(r.value.taps[0]!.socketPath)).toMatch(/second\n$/);
    k.release('live');
  });
});
