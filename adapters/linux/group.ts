/**
 * spawnGroup: wires a graph of processes atomically. Plain edges are one kernel pipe from
 * producer to consumer; fan-out, fan-in, taps and rate limits go through native pumps
 * (tee/splice in their own threads). Outputs without edges are captured as logs under
 * `${key}/${node}`. On any failure every process already started is killed (and its exit
 * is not reported) and every fd is closed. The nodes share one process group (node 0's) in
 * the daemon's session, like a shell job; a lone `spawn` leads its own session instead.
 */

import { join } from 'node:path';
import type { OutputName } from '../../core/manifest/types.js';
import type { GroupRequest, PortResult, TapInfo } from '../../core/ports.js';
import { isSysError } from './addon.js';
import { openReader } from './capture.js';
import { sysPortError } from './errors.js';
import { type GroupPlan, type OutputPlan, planGroup, validateGroup } from './group-plan.js';
import type { KernelImpl } from './kernel.js';
import { validateProcRequest } from './kernel.js';
import { TapFlow } from './taps.js';

const METHOD = 'spawnGroup';
/** Pumped pipes are larger so one tee/splice round moves more (best effort, ≤ pipe-max-size). */
const PUMPED_PIPE_BYTES = 1 << 20;

interface Wiring {
  /** Per node: stdin pipe [r, w] when it has inputs. */
  inputs: Map<number, [number, number]>;
  /** Per pumped output ("node.output"): the pipe the producer writes. */
  pumped: Map<string, [number, number]>;
  /** Per node and output without edges: capture pipe. */
  captured: Map<string, [number, number]>;
  /** Per tapped edge: the copy pipe. */
  tapPipes: Map<number, [number, number]>;
  /** Every fd the parent still holds. */
  owned: Set<number>;
}

const outId = (node: number, output: OutputName): string => `${node}.${output}`;

type Pair = [number, number];

function allocate(k: KernelImpl, req: GroupRequest, plan: GroupPlan): PortResult<Wiring> {
  const w: Wiring = {
    inputs: new Map(),
    pumped: new Map(),
    captured: new Map(),
    tapPipes: new Map(),
    owned: new Set(),
  };
  const byOutput = new Map(plan.outputs.map((o) => [outId(o.node, o.output), o]));
  const pumpedInputs = new Set(
    plan.outputs.filter((o) => o.pumped).flatMap((o) => o.edges.map((e) => req.edges[e]!.to)),
  );
  const wants: [number, (p: Pair) => void][] = [];
  req.nodes.forEach((_, i) => {
    if (plan.inputs[i]!.length > 0) {
      wants.push([pumpedInputs.has(i) ? PUMPED_PIPE_BYTES : 0, (p) => w.inputs.set(i, p)]);
    }
    for (const output of ['stdout', 'stderr'] as const) {
      const id = outId(i, output);
      const o = byOutput.get(id);
      if (!o) wants.push([0, (p) => w.captured.set(id, p)]);
      else if (o.pumped) wants.push([PUMPED_PIPE_BYTES, (p) => w.pumped.set(id, p)]);
    }
  });
  for (const o of plan.outputs) {
    for (const e of o.taps) wants.push([PUMPED_PIPE_BYTES, (p) => w.tapPipes.set(e, p)]);
  }
  for (const [size, put] of wants) {
    const p = k.pipe(METHOD, size);
    if (!p.ok) {
      k.closeFds(w.owned);
      return p;
    }
    w.owned.add(p.value[0]);
    w.owned.add(p.value[1]);
    put(p.value);
  }
  return { ok: true, value: w };
}

function stdioFor(req: GroupRequest, plan: GroupPlan, w: Wiring, node: number) {
  const byOutput = new Map(plan.outputs.map((o) => [outId(o.node, o.output), o]));
  const outFd = (output: OutputName): number => {
    const id = outId(node, output);
    const o = byOutput.get(id);
    if (!o) return w.captured.get(id)![1];
    if (o.pumped) return w.pumped.get(id)![1];
    return w.inputs.get(req.edges[o.edges[0]!]!.to)![1]; // plain edge: the consumer's pipe
  };
  const stdin = w.inputs.get(node)?.[0] ?? -1;
  return [stdin, outFd('stdout'), outFd('stderr')] as [number, number, number];
}

function startPump(k: KernelImpl, req: GroupRequest, w: Wiring, o: OutputPlan): PortResult<number> {
  const source = w.pumped.get(outId(o.node, o.output))![0];
  const sinks: number[] = [];
  for (const e of o.edges) {
    const d = k.native.dup(w.inputs.get(req.edges[e]!.to)![1]);
    if (isSysError(d)) {
      k.closeFds(sinks);
      return { ok: false, error: sysPortError(k.ctx(METHOD, 'dup'), d) };
    }
    sinks.push(d);
  }
  for (const e of o.taps) {
    const fd = w.tapPipes.get(e)![1];
    w.owned.delete(fd);
    sinks.push(fd);
  }
  w.owned.delete(source);
  const id = k.native.pumpStart([source], sinks, req.maxBytesPerSec);
  if (isSysError(id)) return { ok: false, error: sysPortError(k.ctx(METHOD, 'pump'), id) };
  return { ok: true, value: id };
}

export function spawnGroupWith(
  k: KernelImpl,
  key: string,
  req: GroupRequest,
): PortResult<{ pids: number[]; taps: TapInfo[] }> {
  for (const [i, node] of req.nodes.entries()) {
    const problem = validateProcRequest(node);
    if (problem) return k.invalid(METHOD, `nodes[${i}]: ${problem}`);
  }
  const problems = validateGroup(req.nodes.length, req.edges, req.taps);
  if (problems.length > 0) return k.invalid(METHOD, problems.join('; '));
  const plan = planGroup(req.nodes.length, req.edges, req.taps, req.maxBytesPerSec > 0);
  const alloc = allocate(k, req, plan);
  if (!alloc.ok) return alloc;
  const w = alloc.value;
  const pids: number[] = [];
  const fail = (error: PortResult<never>): PortResult<never> => {
    k.discard(pids);
    k.closeFds(w.owned);
    return error;
  };
  // One process group for the graph, led by node 0, in our session (as a shell runs a
  // pipeline). A session per node would put each in its own scheduler autogroup, and a
  // producer and its consumer in different autogroups move a pipe's bytes ~15% slower.
  for (const [i, node] of req.nodes.entries()) {
    // A child in a new pid namespace cannot name node 0's group: it leads its own.
    const pgid = node.envelope.namespaces.pid ? 0 : (pids[0] ?? 0);
    const r = k.launch(`${key}/${i}`, node, stdioFor(req, plan, w, i), METHOD, pgid);
    if (!r.ok) return fail(r);
    pids.push(r.value.pid);
  }
  // Child-side ends: the children hold their own copies now.
  const childEnds: number[] = [];
  for (const [, p] of w.inputs) childEnds.push(p[0]);
  for (const [, p] of w.pumped) childEnds.push(p[1]);
  for (const [, p] of w.captured) childEnds.push(p[1]);
  for (const o of plan.outputs) {
    if (!o.pumped) childEnds.push(w.inputs.get(req.edges[o.edges[0]!]!.to)![1]);
  }
  for (const fd of childEnds) w.owned.delete(fd);
  k.closeFds(childEnds);
  const pumps: number[] = [];
  for (const o of plan.outputs.filter((x) => x.pumped)) {
    const p = startPump(k, req, w, o);
    if (!p.ok) {
      for (const id of pumps) k.native.pumpStop(id);
      return fail(p);
    }
    pumps.push(p.value);
  }
  return finish(k, key, req, w, { pids, pumps });
}

function finish(
  k: KernelImpl,
  key: string,
  req: GroupRequest,
  w: Wiring,
  started: { pids: number[]; pumps: number[] },
): PortResult<{ pids: number[]; taps: TapInfo[] }> {
  // The pumps hold dups of the pumped inputs' write ends: ours go, so consumers see EOF
  // when the last pump closes.
  for (const [, p] of w.inputs) {
    if (w.owned.delete(p[1])) k.native.close(p[1]);
  }
  const keys: string[] = [];
  for (const [id, p] of w.captured) {
    const [node, output] = id.split('.') as [string, OutputName];
    w.owned.delete(p[0]);
    k.logStore.capture(`${key}/${node}`, output, (onChunk) => openReader(k.native, p[0], onChunk));
    if (!keys.includes(`${key}/${node}`)) keys.push(`${key}/${node}`);
  }
  const taps: TapFlow[] = [];
  for (const t of req.taps) {
    const p = w.tapPipes.get(t.edgeIndex);
    if (!p) continue;
    const name = `shipote-flow-${key.replace(/\//g, '-')}-${t.edgeIndex}.sock`;
    const flow = new TapFlow(
      key,
      t,
      join(k.opts.runtimeDir, name),
      (e) => k.emit(e),
      () => k.nowMs(),
    );
    w.owned.delete(p[0]);
    flow.read(p[0], (fd, onChunk) => openReader(k.native, fd, onChunk));
    taps.push(flow);
  }
  k.closeFds(w.owned); // nothing should remain; defensive
  req.nodes.forEach((_, i) => {
    if (!keys.includes(`${key}/${i}`)) keys.push(`${key}/${i}`);
  });
  k.groups.set(key, { pumps: started.pumps, taps, keys });
  const infos = taps.map((t) => ({ edgeIndex: t.info().edgeIndex, socketPath: t.socketPath }));
  return { ok: true, value: { pids: started.pids, taps: infos } };
}
