/** Renders a simulated pipeline as contract §3 TOML, for save and for relaunch on restore. */

import type { PipelineSpec } from '../core/manifest/types.js';

const q = (s: string): string => JSON.stringify(s);

export function pipelineToml(spec: PipelineSpec, workspace = spec.workspace): string {
  const lines = [
    `label = ${q(spec.label)}`,
    `workspace = ${q(workspace)}`,
    `restart_on_failure = ${spec.restart.restartOnFailure}`,
    `restart_backoff_ms = ${spec.restart.backoffMsInitial}`,
    `restart_max_backoff_ms = ${spec.restart.backoffMsMax}`,
    `restart_max = ${spec.restart.restartMax}`,
    `restart_reset_ms = ${spec.restart.resetAfterMs}`,
    `crash_loop_max = ${spec.crashLoop.deathsMax}`,
    `crash_loop_window_ms = ${spec.crashLoop.windowMs}`,
    `discern = { sample_bytes = ${spec.discern.sampleBytes}, ` +
      `enrich_producer = ${spec.discern.enrichProducer} }`,
  ];
  for (const node of spec.nodes) {
    const argv = node.payload.argv.map(q).join(', ');
    lines.push('', '[[nodes]]', `label = ${q(node.label)}`);
    lines.push(`payload.Native = { exec = ${q(node.payload.exec)}, argv = [${argv}], envp = [] }`);
  }
  for (const edge of spec.edges) {
    lines.push('', '[[edges]]', `from = ${edge.from}`, `from_output = ${q(edge.fromOutput)}`);
    lines.push(`to = ${edge.to}`, 'to_input = "stdin"');
  }
  return `${lines.join('\n')}\n`;
}
