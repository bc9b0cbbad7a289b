/**
 * TOML text → validated spec. Never throws: a syntax error becomes a `(toml)` issue with
 * the parser's line. Templates are expanded in string values after parsing.
 */

import { parse, TomlError } from 'smol-toml';
import { LIMITS } from './limits.js';
import { lineLocator } from './lines.js';
import { validatePipelineSpec } from './pipeline.js';
import { expandValueBounded } from './templates.js';
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
  const tooLong = specSizeIssue(text);
  if (tooLong !== null) return { ok: false, issues: [tooLong] };
  const parsed = parseToml(text);
  if (!parsed.ok) return parsed;
  const expanded = expandValueBounded(parsed.value, vars, LIMITS.expandedCharsMax);
  if (expanded === null) {
    const message =
      `expanding \${VAR} templates would exceed ${LIMITS.expandedCharsMax} characters ` +
      '(expandedCharsMax)';
    return { ok: false, issues: [{ path: '(vars)', message }] };
  }
  const result = validate(expanded.value);
  if (result.ok) return result;
  const locate = lineLocator(text);
  return { ok: false, issues: result.issues.map((issue) => withLine(locate, issue)) };
}

/** The text limit is checked before the TOML parser sees a byte of it. */
export function specSizeIssue(text: string): SpecIssue | null {
  const max = LIMITS.specCharsMax;
  if (text.length <= max) return null;
  const message = `spec is ${text.length} characters; the limit is ${max} (specCharsMax)`;
  return { path: '(toml)', message };
}

function withLine(locate: (path: string) => number | undefined, issue: SpecIssue): SpecIssue {
  if (issue.line !== undefined) return issue;
  const line = locate(issue.path);
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
