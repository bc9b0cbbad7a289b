/** Spec parsing and validation (contract §1, §3): TOML or JSON in, validated specs out. */

export { checkCgroupPath } from './cgroup.js';
export { validateCommandSpec } from './command.js';
export { noNamespaces, pipelinePolicies, workspaceSpec } from './defaults.js';
export { describeValue, formatIssues } from './issues.js';
export { parsePipelineToml, parseToml, parseWorkspaceToml } from './parse.js';
export { PIPELINE_DEFAULTS, validatePipelineSpec } from './pipeline.js';
export { expandTemplates, expandValue } from './templates.js';
export type {
  CommandSpec,
  CrashLoopPolicy,
  Discern,
  EnforceAction,
  Namespaces,
  OnExit,
  OutputName,
  PipelineEdge,
  PipelineNode,
  PipelineSpec,
  ProcPayload,
  RestartPolicy,
  Rlimits,
  SpecIssue,
  SpecResult,
  WorkspaceSpec,
} from './types.js';
export { validateWorkspaceSpec } from './workspace.js';
