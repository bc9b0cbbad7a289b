/**
 * TOML text → validated spec. Never throws: a syntax error becomes a `(toml)` issue with
 * the parser's line. Templates are expanded in string values after parsing.
 */

import { parse, TomlError } from 'smol-toml';
import { findLine } from './lines.js';
import { validatePipelineSpec } from './pipeline.js';
import { expandValue } from './templates.js';
import type { PipelineSpec, SpecIssue, SpecResult, WorkspaceSpec } from './types.js';
import { validateWorkspaceSpec } from './workspace.js';

const TOML_DEPTH_MAX = 64;

type Validator<T> = (raw: unknown) => SpecResult<T>;

export function parseWorkspaceToml(
  text: string,
  vars: Record<string, string> = {},
): SpecResult<WorkspaceSpec> {
  return parseWith(text, vars, validateWorkspaceSpec);
}

export function parsePipelineToml(
  text: string,
  vars: Record<string, string> = {},
): SpecResult<PipelineSpec> {
  return parseWith(text, vars, validatePipelineSpec);
}

function parseWith<T>(
  text: string,
  vars: Record<string, string>,
  validate: Validator<T>,
): SpecResult<T> {
  const parsed = parseToml(text);
  if (!parsed.ok) return parsed;
  const result = validate(expandValue(parsed.value, vars));
  if (result.ok) return result;
  return { ok: false, issues: result.issues.map((issue) => withLine(text, issue)) };
}

function withLine(text: string, issue: SpecIssue): SpecIssue {
  if (issue.line !== undefined) return issue;
  const line = findLine(text, issue.path);
  return line === undefined ? issue : { ...issue, line };
}

/** smol-toml, with its errors as values. */
export function parseToml(text: string): SpecResult<unknown> {
  try {
    const value = parse(text, {
      integersAsBigInt: 'asNeeded',
      unsafeKeyBehaviour: 'throw',
      maxDepth: TOML_DEPTH_MAX,
    });
    return { ok: true, value };
  } catch (error) {
    return { ok: false, issues: [tomlIssue(error)] };
  }
}

function tomlIssue(error: unknown): SpecIssue {
  if (error instanceof TomlError) {
    const firstLine = error.message.split('\n')[0] ?? error.message;
    const message = firstLine.replace(/^Invalid TOML document: /, '');
    return { path: '(toml)', message, line: error.line };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { path: '(toml)', message };
}
