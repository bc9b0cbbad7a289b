/** Prometheus text exposition format (version 0.0.4) of what the daemon knows. */

import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import type { ControlDeps } from './types.js';
import { workerMetrics } from './workers-health.js';

/** Sampling step of the event-loop delay histogram. */
const loopDelayResolutionMs = 20;
let loopDelay: IntervalHistogram | null = null;

/** Starts the daemon-wide event-loop delay histogram (once per process). */
export function startLoopDelayMonitor(): void {
  if (loopDelay !== null) return;
  loopDelay = monitorEventLoopDelay({ resolution: loopDelayResolutionMs });
  loopDelay.enable();
}

const nsPerSecond = 1e9;

/** Summary of the event-loop delay since start: quantiles, max, sum and count. */
function loopDelayFamilies(): string[] {
  const h = loopDelay;
  if (h === null) return [];
  const seconds = (ns: number) => ns / nsPerSecond;
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

export function renderMetrics(deps: ControlDeps): string {
  const sup = deps.supervisor;
  const workspaces = sup.listWorkspaces();
  const pipelines = sup.listPipelines();
  let commandsAlive = 0;
  let commandRestarts = 0;
  for (const ws of workspaces) {
    commandsAlive += ws.commandsAlive;
    const cmds = sup.listCommands(ws.id);
    if (cmds.ok) for (const c of cmds.value) commandRestarts += c.restarts;
  }
  const pipelineRestarts = pipelines.reduce((n, p) => n + p.restarts, 0);
  const flows = deps.flows();
  const families = [
    family('shipote_workspaces', 'gauge', 'Workspaces known to the daemon.', [
      { value: workspaces.length },
    ]),
    family('shipote_commands_alive', 'gauge', 'Commands with a live process.', [
      { value: commandsAlive },
    ]),
    family('shipote_pipelines', 'gauge', 'Pipelines known to the daemon.', [
      { value: pipelines.length },
    ]),
    family('shipote_restarts_total', 'counter', 'Restarts of supervised commands and pipelines.', [
      { labels: { kind: 'command' }, value: commandRestarts },
      { labels: { kind: 'pipeline' }, value: pipelineRestarts },
    ]),
    family('shipote_flows', 'gauge', 'Flow sockets open for readers.', [{ value: flows.length }]),
    family(
      'shipote_flow_bytes_total',
      'counter',
      'Bytes that went through a tapped edge.',
      flows.map((f) => ({ labels: flowLabels(f), value: f.bytesTotal })),
    ),
    family(
      'shipote_flow_bytes_per_second',
      'gauge',
      'Recent throughput of a tapped edge.',
      flows.map((f) => ({ labels: flowLabels(f), value: f.bytesPerSec })),
    ),
    family('shipote_uptime_seconds', 'gauge', 'Seconds since the daemon started.', [
      { value: Math.floor((deps.nowMs() - deps.startedAtMs) / 1000) },
    ]),
    ...loopDelayFamilies(),
    ...workerMetrics(sup).map((f) => family(f.name, f.type, f.help, f.samples)),
  ];
  return `${families.join('\n')}\n`;
}

function flowLabels(f: { key: string; edgeIndex: number; socketPath: string }) {
  return { pipeline: f.key, edge: String(f.edgeIndex), socket: f.socketPath };
}
