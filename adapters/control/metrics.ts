/** Prometheus text exposition format (version 0.0.4) of what the daemon knows. */

import type { ControlDeps } from './types.js';
import { workerMetrics } from './workers-health.js';

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
    ...workerMetrics(sup).map((f) => family(f.name, f.type, f.help, f.samples)),
  ];
  return `${families.join('\n')}\n`;
}

function flowLabels(f: { key: string; edgeIndex: number; socketPath: string }) {
  return { pipeline: f.key, edge: String(f.edgeIndex), socket: f.socketPath };
}
