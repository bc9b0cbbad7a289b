/** The real spec parsers (core/manifest) in the shape the control server takes. */

import {
  formatIssues,
  parsePipelineToml,
  parseWorkspaceToml,
  validateCommandSpec,
  validateWorkspaceSpec,
} from '../../core/manifest/index.js';
import type { SpecParsers } from './types.js';

export const coreSpecParsers: SpecParsers = {
  workspaceToml: (text) => parseWorkspaceToml(text),
  workspaceObject: (raw) => validateWorkspaceSpec(raw),
  pipelineToml: (text, vars) => parsePipelineToml(text, vars),
  command: (raw) => validateCommandSpec(raw),
  formatIssues,
};
