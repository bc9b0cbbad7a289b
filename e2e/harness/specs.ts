/** TOML specs (contract §1, §3) built from a few fields, so each test states only what matters. */

export interface WorkspaceFields {
  label: string;
  memBytes?: number;
  nproc?: number;
  nofile?: number;
  namespaces?: Partial<Record<'user' | 'pid' | 'mount' | 'net' | 'uts' | 'ipc', boolean>>;
  cgroupPath?: string;
  enforce?: { mem?: 'none' | 'log' | 'kill'; nproc?: 'none' | 'log' | 'kill' };
}

export function workspaceToml(f: WorkspaceFields): string {
  const ns = Object.entries(f.namespaces ?? {}).map(([k, v]) => `${k} = ${v}`);
  return [
    `label = ${JSON.stringify(f.label)}`,
    'on_exit = "reap"',
    '[soma.rlimits]',
    `mem_bytes = ${f.memBytes ?? 0}`,
    `nproc = ${f.nproc ?? 0}`,
    `nofile = ${f.nofile ?? 0}`,
    '[soma.namespaces]',
    ...ns,
    '[soma.cgroup]',
    `path = ${JSON.stringify(f.cgroupPath ?? '')}`,
    '[quota_enforce]',
    `mem = ${JSON.stringify(f.enforce?.mem ?? 'none')}`,
    `nproc = ${JSON.stringify(f.enforce?.nproc ?? 'none')}`,
    '',
  ].join('\n');
}

export interface NodeFields {
  label: string;
  exec: string;
  argv: string[];
}

export interface PipelineFields {
  label: string;
  workspace: string;
  nodes: NodeFields[];
  /** [from, to] pairs, stdout → stdin. */
  edges: [number, number][];
  restartOnFailure?: boolean;
}

export function pipelineToml(f: PipelineFields): string {
  const lines = [
    `label = ${JSON.stringify(f.label)}`,
    `workspace = ${JSON.stringify(f.workspace)}`,
  ];
  if (f.restartOnFailure) lines.push('restart_on_failure = true');
  for (const node of f.nodes) {
    const argv = node.argv.map((a) => JSON.stringify(a)).join(', ');
    lines.push('', '[[nodes]]', `label = ${JSON.stringify(node.label)}`);
    lines.push(
      `payload.Native = { exec = ${JSON.stringify(node.exec)}, argv = [${argv}], envp = [] }`,
    );
  }
  for (const [from, to] of f.edges) {
    lines.push('', '[[edges]]', `from = ${from}`, 'from_output = "stdout"', `to = ${to}`);
    lines.push('to_input = "stdin"');
  }
  return `${lines.join('\n')}\n`;
}
