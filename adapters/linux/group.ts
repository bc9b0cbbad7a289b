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
import type {
  GroupRequest,
  KernelEvent,
  PortError,
  PortResult,
  ProcRequest,
  TapInfo,
} from '../../core/ports.js';
import { isSysError, type NativeAddon, type Spawned } from './addon.js';
import type { ByteBudget } from './budget.js';
import { openReader } from './capture.js';
import { validateProcRequest } from './envelope.js';
import { sysPortError } from './errors.js';
import { type GroupPlan, type OutputPlan, planGroup, validateGroup } from './group-plan.js';
import type { LogStore } from './logs.js';
import { TapFlow } from './taps.js';

/** What spawnGroup needs from the kernel adapter, and nothing more. */
export interface GroupLauncher {
  readonly native: NativeAddon;
  readonly logStore: Pick<LogStore, 'captureFd'>;
  readonly budget: ByteBudget;
  readonly runtimeDir: string;
  /** A pipe pair; `sizeBytesMin`: at least this big (pumped pipes). */
  pipe(method: string, sizeBytesMin?: number): PortResult<[number, number]>;
  closeFds(fds: Iterable<number>): void;
  /** Starts one node; `group.pgid` 0 = lead the graph's process group, > 0 = join it. */
  launch(
    key: string,
    req: ProcRequest,
    stdio: [number, number, number],
    method: string,
    group: { root: string; pgid: number },
  ): PortResult<Spawned>;
  /** Kills pids of a group that failed to start; their exits are not reported. */
  discard(pids: number[]): void;
  /** Keeps what the running graph holds until `release(key)`. */
  adoptGroup(key: string, held: { pumps: number[]; taps: TapFlow[]; keys: string[] }): void;
  emit(event: KernelEvent): void;
  nowMs(): number;
}

const METHOD = 'spawnGroup';

function ctx(what: string) {
  return { port: 'Kernel' as const, method: METHOD, what };
}

function invalid(message: string): PortResult<never> {
  const error: PortError = {
    _tag: 'PortError',
    port: 'Kernel',
    method: METHOD,
    reason: 'InvalidArgument',
    message,
  };
  return { ok: false, error };
}
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

function allocate(launcher: GroupLauncher, req: GroupRequest, plan: GroupPlan): PortResult<Wiring> {
  const wiring: Wiring = {
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
      wants.push([pumpedInputs.has(i) ? PUMPED_PIPE_BYTES : 0, (p) => wiring.inputs.set(i, p)]);
    }
    for (const output of ['stdout', 'stderr'] as const) {
      const id = outId(i, output);
      const o = byOutput.get(id);
      if (!o) wants.push([0, (p) => wiring.captured.set(id, p)]);
      else if (o.pumped) wants.push([PUMPED_PIPE_BYTES, (p) => wiring.pumped.set(id, p)]);
    }
  });
  for (const o of plan.outputs) {
    for (const e of o.taps) wants.push([PUMPED_PIPE_BYTES, (p) => wiring.tapPipes.set(e, p)]);
  }
  for (const [size, put] of wants) {
    const p = launcher.pipe(METHOD, size);
    if (!p.ok) {
      launcher.closeFds(wiring.owned);
      return p;
    }
    wiring.owned.add(p.value[0]);
    wiring.owned.add(p.value[1]);
    put(p.value);
  }
  return { ok: true, value: wiring };
}

function stdioFor(req: GroupRequest, plan: GroupPlan, wiring: Wiring, node: number) {
  const byOutput = new Map(plan.outputs.map((o) => [outId(o.node, o.output), o]));
  const outFd = (output: OutputName): number => {
    const id = outId(node, output);
    const o = byOutput.get(id);
    if (!o) return wiring.captured.get(id)![1];
    if (o.pumped) return wiring.pumped.get(id)![1];
    return wiring.inputs.get(req.edges[o.edges[0]!]!.to)![1]; // plain edge: the consumer's pipe
  };
  const stdin = wiring.inputs.get(node)?.[0] ?? -1;
  return [stdin, outFd('stdout'), outFd('stderr')] as [number, number, number];
}

function startPump(
  launcher: GroupLauncher,
  req: GroupRequest,
  wiring: Wiring,
  o: OutputPlan,
): PortResult<number> {
  const source = wiring.pumped.get(outId(o.node, o.output))![0];
  const sinks: number[] = [];
  for (const e of o.edges) {
    const d = launcher.native.dup(wiring.inputs.get(req.edges[e]!.to)![1]);
    if (isSysError(d)) {
      launcher.closeFds(sinks);
      return { ok: false, error: sysPortError(ctx('dup'), d) };
    }
    sinks.push(d);
  }
  for (const e of o.taps) {
    const fd = wiring.tapPipes.get(e)![1];
    wiring.owned.delete(fd);
    sinks.push(fd);
  }
  wiring.owned.delete(source);
  const id = launcher.native.pumpStart([source], sinks, req.maxBytesPerSec);
  if (isSysError(id)) return { ok: false, error: sysPortError(ctx('pump'), id) };
  return { ok: true, value: id };
}

export function spawnGroupWith(
  launcher: GroupLauncher,
  key: string,
  req: GroupRequest,
): PortResult<{ pids: number[]; taps: TapInfo[] }> {
  for (const [i, node] of req.nodes.entries()) {
    const problem = validateProcRequest(node);
    if (problem) return invalid(`nodes[${i}]: ${problem}`);
  }
  const problems = validateGroup(req.nodes.length, req.edges, req.taps);
  if (problems.length > 0) return invalid(problems.join('; '));
  const plan = planGroup(req.nodes.length, req.edges, req.taps, req.maxBytesPerSec > 0);
  const alloc = allocate(launcher, req, plan);
  if (!alloc.ok) return alloc;
  const wiring = alloc.value;
  const pids: number[] = [];
  const fail = (error: PortResult<never>): PortResult<never> => {
    launcher.discard(pids);
    launcher.closeFds(wiring.owned);
    return error;
  };
  // One process group for the graph, led by node 0, in our session (as a shell runs a
  // pipeline). A session per node would put each in its own scheduler autogroup, and a
  // producer and its consumer in different autogroups move a pipe's bytes ~15% slower.
  for (const [i, node] of req.nodes.entries()) {
    // A child in a new pid namespace cannot name node 0's group: it leads its own.
    const pgid = node.envelope.namespaces.pid ? 0 : (pids[0] ?? 0);
    const stdio = stdioFor(req, plan, wiring, i);
    const r = launcher.launch(`${key}/${i}`, node, stdio, METHOD, { root: key, pgid });
    if (!r.ok) return fail(r);
    pids.push(r.value.pid);
  }
  // Child-side ends: the children hold their own copies now.
  const childEnds: number[] = [];
  for (const [, p] of wiring.inputs) childEnds.push(p[0]);
  for (const [, p] of wiring.pumped) childEnds.push(p[1]);
  for (const [, p] of wiring.captured) childEnds.push(p[1]);
  for (const o of plan.outputs) {
    if (!o.pumped) childEnds.push(wiring.inputs.get(req.edges[o.edges[0]!]!.to)![1]);
  }
  for (const fd of childEnds) wiring.owned.delete(fd);
  launcher.closeFds(childEnds);
  const pumps: number[] = [];
  for (const o of plan.outputs.filter((x) => x.pumped)) {
    const p = startPump(launcher, req, wiring, o);
    if (!p.ok) {
      for (const id of pumps) launcher.native.pumpStop(id);
      return fail(p);
    }
    pumps.push(p.value);
  }
  return finish(launcher, key, req, wiring, { pids, pumps });
}

function finish(
  launcher: GroupLauncher,
  key: string,
  req: GroupRequest,
  wiring: Wiring,
  started: { pids: number[]; pumps: number[] },
): PortResult<{ pids: number[]; taps: TapInfo[] }> {
  // The pumps hold dups of the pumped inputs' write ends: ours go, so consumers see EOF
  // when the last pump closes.
  for (const [, p] of wiring.inputs) {
    if (wiring.owned.delete(p[1])) launcher.native.close(p[1]);
  }
  const keys: string[] = [];
  for (const [id, p] of wiring.captured) {
    const [node, output] = id.split('.') as [string, OutputName];
    wiring.owned.delete(p[0]);
    launcher.logStore.captureFd(`${key}/${node}`, output, p[0], req.nodes[Number(node)]?.logs);
    if (!keys.includes(`${key}/${node}`)) keys.push(`${key}/${node}`);
  }
  const taps: TapFlow[] = [];
  for (const t of req.taps) {
    const p = wiring.tapPipes.get(t.edgeIndex);
    if (!p) continue;
    const name = `shipote-flow-${key.replace(/\//g, '-')}-${t.edgeIndex}.sock`;
    const flow = new TapFlow(
      key,
      t,
      join(launcher.runtimeDir, name),
      (e) => launcher.emit(e),
      () => launcher.nowMs(),
      launcher.budget,
    );
    wiring.owned.delete(p[0]);
    flow.read(p[0], (fd, onChunk) => openReader(launcher.native, fd, onChunk));
    taps.push(flow);
  }
  launcher.closeFds(wiring.owned); // nothing should remain; defensive
  req.nodes.forEach((_, i) => {
    if (!keys.includes(`${key}/${i}`)) keys.push(`${key}/${i}`);
  });
  launcher.adoptGroup(key, { pumps: started.pumps, taps, keys });
  const infos = taps.map((t) => ({ edgeIndex: t.info().edgeIndex, socketPath: t.socketPath }));
  return { ok: true, value: { pids: started.pids, taps: infos } };
}
