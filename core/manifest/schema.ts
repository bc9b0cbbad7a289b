/**
 * JSON Schemas (draft-07, which taplo and editors read) generated from the field table
 * (fields.ts). `scripts/gen-schemas.ts` writes them to schemas/; a test checks that
 * regenerating changes nothing.
 */

import { APPLY_FIELDS } from './apply-fields.js';
import type { Field, Fields } from './fields.js';
import { PIPELINE_FIELDS, WORKSPACE_FIELDS } from './fields.js';

export type JsonSchema = Record<string, unknown>;

const safeIntegerMax = Number.MAX_SAFE_INTEGER;

/** `log` → `^([Ll][Oo][Gg])$`: JSON Schema regexes have no case-insensitive flag. */
function caselessPattern(choices: readonly string[]): string {
  const any = (c: string) => (c.toLowerCase() === c.toUpperCase() ? c : `[${c.toUpperCase()}${c}]`);
  return `^(${choices.map((w) => [...w].map(any).join('')).join('|')})$`;
}

function fieldSchema(f: Field): JsonSchema {
  const doc = { description: f.doc };
  switch (f.kind) {
    case 'string':
      return {
        type: 'string',
        ...doc,
        ...(f.nonEmpty ? { minLength: 1 } : {}),
        ...(f.default !== undefined ? { default: f.default } : {}),
      };
    case 'int':
      return {
        type: 'integer',
        minimum: 0,
        maximum: f.zeroOr?.max ?? safeIntegerMax,
        ...(f.zeroOr ? { anyOf: [{ const: 0 }, { minimum: f.zeroOr.min }] } : {}),
        ...doc,
        ...(f.default !== undefined ? { default: f.default } : {}),
      };
    case 'bool':
      return { type: 'boolean', ...doc, default: f.default };
    case 'enum':
      return f.caseless
        ? { type: 'string', pattern: caselessPattern(f.choices), ...doc, default: f.default }
        : { enum: [...f.choices], ...doc, default: f.default };
    case 'strings':
      return {
        type: 'array',
        ...doc,
        items: f.envStyle ? { type: 'string', pattern: '^[^=]+=' } : { type: 'string' },
      };
    case 'stringMap':
      return { type: 'object', ...doc, additionalProperties: { type: 'string' } };
    case 'table':
      return tableSchema(f.fields, f.doc);
    case 'tables':
      return {
        type: 'array',
        ...doc,
        ...(f.minItems !== undefined ? { minItems: f.minItems } : {}),
        items: tableSchema(f.fields, f.doc),
      };
  }
}

export function tableSchema(fields: Fields, doc: string): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  const required: string[] = [];
  for (const [key, f] of Object.entries(fields)) {
    properties[key] = fieldSchema(f);
    if ('required' in f && f.required) required.push(key);
  }
  return {
    type: 'object',
    description: doc,
    properties,
    ...(required.length > 0 ? { required } : {}),
    additionalProperties: false,
  };
}

function documentSchema(title: string, fields: Fields): JsonSchema {
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title,
    ...tableSchema(fields, title),
  };
}

/**
 * Every schema shipote publishes, by file name (the apply file's table: apply-fields.ts).
 */
export function allSchemas(): Record<string, JsonSchema> {
  return {
    'workspace.schema.json': documentSchema(
      'shipote workspace (docs/CONTRACT.md §1)',
      WORKSPACE_FIELDS,
    ),
    'pipeline.schema.json': documentSchema(
      'shipote pipeline (docs/CONTRACT.md §3)',
      PIPELINE_FIELDS,
    ),
    'apply.schema.json': documentSchema('shipote apply file (docs/CONTRACT.md §7)', APPLY_FIELDS),
  };
}
