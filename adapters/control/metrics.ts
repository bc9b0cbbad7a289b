/** Prometheus text exposition format (version 0.0.4) of what the daemon knows. */

import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import type { RestartCounters } from './counters.js';
import type { ControlDeps, ProcessStats } from './types.js';
import { workerMetrics } from './workers-health.js';

/** Sampling step of the event-loop delay histogram. */
const loopDelayResolutionMs = 20;
let loopDelay: IntervalHistogram | null = null;

/** Starts the daemon-wide event-loop delay histogram (once per process). */
/** Sampling stops after this long without a request: an idle daemon takes no samples. */
const loopDelayIdleMs = 10_000;
let lastActivityMs = 0;
let idleCheck: NodeJS.Timeout | null = null;
let onQuiet: (() => void) | null = null;

/**
 * `fire` runs each time the daemon goes quiet (loopDelayIdleMs without a request), from the
 * timer that stops the sampling: the daemon gives back what a burst of requests left.
 */
export function whenQuiet(fire: (() => void) | null): void {
  onQuiet = fire;
}

/**
 * Called on every request: the histogram samples (one wakeup per resolution) while the
 * daemon is asked things, and stops once it has been quiet for loopDelayIdleMs, so an idle
 * daemon does not wake 50 times a second. What was sampled is kept.
 */
export function noteLoopActivity(nowMs = Date.now()): void {
  lastActivityMs = nowMs;
  if (idleCheck !== null) return;
  loopDelay ??= monitorEventLoopDelay({ resolution: loopDelayResolutionMs });
  loopDelay.enable();
  armIdleCheck(loopDelayIdleMs);
}

function armIdleCheck(afterMs: number): void {
  idleCheck = setTimeout(() => {
    const quietMs = Date.now() - lastActivityMs;
    if (quietMs < loopDelayIdleMs) {
      armIdleCheck(loopDelayIdleMs - quietMs);
      return;
    }
    loopDelay?.disable();
    idleCheck = null;
    onQuiet?.();
  }, afterMs);
  idleCheck.unref();
}

const nsPerSecond = 1e9;

/** Summary of the event-loop delay since start: quantiles, max, sum and count. */
function loopDelayFamilies(): string[] {
  const h = loopDelay;
  if (h === null) return [];
  // Before the first sample the histogram's mean is NaN and its min huge: report zeros.
  const seconds = (ns: number) => (h.count > 0 ? ns / nsPerSecond : 0);
  const quantiles = [0.5, 0.9, 0.99].map((q) => ({
    labels: { quantile: String(q) },
    value: seconds(h.percentile(q * 100)),
  }));
  return [
    family('shipote_event_loop_delay_seconds', 'summary', 'Event-loop delay of the daemon.', [
      ...quantiles,
    ]).concat(
      `\nshipote_event_loop_delay_seconds_sum ${seconds(h.mean * h.count)}` +
        `\nshipote_event_loop_delay_seconds_count ${h.count}`,
    ),
    family('shipote_event_loop_delay_max_seconds', 'gauge', 'Longest event-loop delay seen.', [
      { value: seconds(h.max) },
    ]),
  ];
}

interface Sample {
  labels?: Record<string, string>;
  value: number;
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function family(name: string, type: string, help: string, samples: Sample[]): string {
  const lines = [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`];
  for (const s of samples) {
    const labels = s.labels
      ? `{${Object.entries(s.labels)
          .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
          .join(',')}}`
      : '';
    lines.push(`${name}${labels} ${s.value}`);
  }
  return lines.join('\n');
}

/**
 * The gauges come from the same source as `health` (they must agree); the restart counter
 * from the daemon-wide counters (it must never go down, whatever stops or restarts).
 */
export function renderMetrics(deps: ControlDeps, counters: RestartCounters): string {
  const health = deps.supervisor.health();
  const restarts = counters.totals();
  const flows = flowSeries(deps);
  const families = [
    family('shipote_workspaces', 'gauge', 'Workspaces known to the daemon.', [
      { value: health.workspaces },
    ]),
    family('shipote_commands_alive', 'gauge', 'Commands with a live process.', [
      { value: health.commandsAlive },
    ]),
    family('shipote_pipelines', 'gauge', 'Pipelines running.', [{ value: health.pipelines }]),
    family('shipote_restarts_total', 'counter', 'Restarts of supervised commands and pipelines.', [
      { labels: { kind: 'command' }, value: restarts.command },
      { labels: { kind: 'pipeline' }, value: restarts.pipeline },
    ]),
    family('shipote_flows', 'gauge', 'Flow sockets of running pipelines.', [
      { value: health.flows },
    ]),
    ...workspaceFamilies(deps),
    family(
      'shipote_flow_bytes_total',
      'counter',
      'Bytes through the tapped edges of live pipeline runs, by pipeline label and edge.',
      flows.map((f) => ({ labels: f.labels, value: f.bytesTotal })),
    ),
    family(
      'shipote_flow_bytes_per_second',
      'gauge',
      'Recent throughput of tapped edges, by pipeline label and edge.',
      flows.map((f) => ({ labels: f.labels, value: f.bytesPerSec })),
    ),
    family('shipote_uptime_seconds', 'gauge', 'Seconds since the daemon started.', [
      { value: Math.floor((deps.nowMs() - deps.startedAtMs) / 1000) },
    ]),
    ...loopDelayFamilies(),
    ...processFamilies(deps.processStats?.() ?? null),
    ...workerMetrics(deps.supervisor).map((f) => family(f.name, f.type, f.help, f.samples)),
  ];
  return `${families.join('\n')}\n`;
}

/** Flows summed by (pipeline label, edge): runs of one pipeline share their series. */
function flowSeries(deps: ControlDeps) {
  const labelOf = new Map(deps.supervisor.listPipelines().map((p) => [p.id, p.label]));
  const series = new Map<
    string,
    { labels: Record<string, string>; bytesTotal: number; bytesPerSec: number }
  >();
  for (const f of deps.flows()) {
    const pipeline = labelOf.get(f.key) ?? 'unknown';
    const key = `${pipeline}\0${f.edgeIndex}`;
    const s = series.get(key) ?? {
      labels: { pipeline, edge: String(f.edgeIndex) },
      bytesTotal: 0,
      bytesPerSec: 0,
    };
    s.bytesTotal += f.bytesTotal;
    s.bytesPerSec += f.bytesPerSec;
    series.set(key, s);
  }
  return [...series.values()];
}

/** RSS and CPU time of each live workspace (its last sample), by workspace label. */
function workspaceFamilies(deps: ControlDeps): string[] {
  const rss: Sample[] = [];
  const cpu: Sample[] = [];
  for (const ws of deps.supervisor.listWorkspaces()) {
    if (ws.state === 'stopped') continue;
    const stats = deps.supervisor.stats(ws.id);
    if (!stats.ok) continue;
    rss.push({ labels: { workspace: ws.label }, value: stats.value.rssBytes });
    cpu.push({ labels: { workspace: ws.label }, value: stats.value.cpuUs / 1_000_000 });
  }
  return [
    family('shipote_workspace_resident_memory_bytes', 'gauge', 'RSS of a workspace.', rss),
    family(
      'shipote_workspace_cpu_seconds_total',
      'counter',
      'CPU time (user + system) of the live processes of a workspace.',
      cpu,
    ),
  ];
}

function processFamilies(p: ProcessStats | null): string[] {
  if (p === null) return [];
  return [
    family('process_resident_memory_bytes', 'gauge', 'Resident memory size in bytes.', [
      { value: p.residentMemoryBytes },
    ]),
    family('process_virtual_memory_bytes', 'gauge', 'Virtual memory size in bytes.', [
      { value: p.virtualMemoryBytes },
    ]),
    family('process_cpu_seconds_total', 'counter', 'User and system CPU time in seconds.', [
      { value: p.cpuSeconds },
    ]),
    family('process_open_fds', 'gauge', 'Number of open file descriptors.', [{ value: p.openFds }]),
    family('process_max_fds', 'gauge', 'Maximum number of open file descriptors.', [
      { value: p.maxFds },
    ]),
    family(
      'process_start_time_seconds',
      'gauge',
      'Start time of the process since the Unix epoch in seconds.',
      [{ value: p.startTimeSeconds }],
    ),
  ];
}
