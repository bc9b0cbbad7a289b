/**
 * The JSON Schemas and the validators agree: every key each validator accepts is in the
 * schema and the other way round (read from the validator's own "unknown key; expected one
 * of …" issue), and for every leaf field a good value passes both and each bad value fails
 * both (ajv, draft-07, as editors check it).
 */

import { Ajv } from 'ajv';
import type { Field, Fields } from './fields.js';
import { PIPELINE_FIELDS, WORKSPACE_FIELDS } from './fields.js';
import { validatePipelineSpec } from './pipeline.js';
import { allSchemas } from './schema.js';
import type { SpecResult } from './types.js';
import { validateWorkspaceSpec } from './workspace.js';

type Doc = Record<string, unknown>;
const ajv = new Ajv({ strict: true, allErrors: true });
const schemas = allSchemas();

const native = (exec: string) => ({ Native: { exec, argv: [], envp: [] } });
const cases: {
  name: string;
  fields: Fields;
  schema: Record<string, unknown>;
  validate: (raw: unknown) => SpecResult<unknown>;
  base: () => Doc;
}[] = [
  {
    name: 'workspace',
    fields: WORKSPACE_FIELDS,
    schema: schemas['workspace.schema.json'] ?? {},
    validate: validateWorkspaceSpec,
    base: () => ({ label: 'w' }),
  },
  {
    name: 'pipeline',
    fields: PIPELINE_FIELDS,
    schema: schemas['pipeline.schema.json'] ?? {},
    validate: validatePipelineSpec,
    base: () => ({
      label: 'p',
      workspace: 'w',
      nodes: [
        { label: 'a', payload: native('/bin/echo') },
        { label: 'b', payload: native('/bin/cat') },
      ],
      edges: [{ from: 0, to: 1 }],
    }),
  },
];

/** Every field with its path; an array of tables is entered at its first element. */
function leaves(fields: Fields, path: (string | number)[] = []): [(string | number)[], Field][] {
  return Object.entries(fields).flatMap(([key, f]): [(string | number)[], Field][] => {
    const here = [...path, key];
    if (f.kind === 'table') return [[here, f], ...leaves(f.fields, here)];
    if (f.kind === 'tables') return [[here, f], ...leaves(f.fields, [...here, 0])];
    return [[here, f]];
  });
}

/** Sets `path` in `doc`, creating tables on the way (an array index enters the base array). */
function setIn(doc: Doc, path: (string | number)[], value: unknown): Doc {
  let at: Record<string | number, unknown> = doc;
  for (const key of path.slice(0, -1)) {
    at[key] ??= {};
    at = at[key] as Record<string | number, unknown>;
  }
  at[path[path.length - 1] as string | number] = value;
  return doc;
}

function goodValue(f: Field): unknown {
  switch (f.kind) {
    case 'string':
      return 'ok-value';
    case 'int':
      return f.default ?? null;
    case 'bool':
      return !f.default;
    case 'enum':
      return f.caseless ? (f.choices.at(-1) ?? '').toUpperCase() : f.choices.at(-1);
    case 'strings':
      return f.envStyle ? ['A=1', 'B='] : ['x', ''];
    default:
      return null;
  }
}

function badValues(f: Field): unknown[] {
  switch (f.kind) {
    case 'string':
      return [5, ...(f.nonEmpty ? [''] : [])];
    case 'int':
      // A ranged field takes 0 (the default) or min..max: just outside either end fails.
      return [-1, 1.5, 'x', ...(f.zeroOr ? [f.zeroOr.min - 1, f.zeroOr.max + 1] : [])].filter(
        (v) => v !== 0,
      );
    case 'bool':
      return ['yes'];
    case 'enum':
      return ['nope', 3];
    case 'strings':
      return [[1], 'x', ...(f.envStyle ? [['NOEQ']] : [])];
    case 'table':
      return [3, { unknown_key: 1 }];
    case 'tables':
      return [{}];
    case 'stringMap':
      return [3, { KEY: 1 }];
  }
}

describe.each(cases)('the $name schema', ({ fields, schema, validate, base }) => {
  const check = ajv.compile(schema);

  it('accepts the base document, as the validator does', () => {
    expect(validate(base())).toMatchObject({ ok: true });
    expect(check(base())).toBe(true);
  });

  it('lists exactly the keys the validator accepts, in every table', () => {
    const tables: [(string | number)[], Fields][] = [
      [[], fields],
      ...leaves(fields).flatMap(([path, f]): [(string | number)[], Fields][] =>
        f.kind === 'table'
          ? [[path, f.fields]]
          : f.kind === 'tables'
            ? [[[...path, 0], f.fields]]
            : [],
      ),
    ];
    for (const [path, table] of tables) {
      const result = validate(setIn(base(), [...path, 'zz_unknown'], 1));
      const issue = result.ok
        ? undefined
        : result.issues.find((i) => i.path.endsWith('zz_unknown'));
      const accepted = /expected one of (.*)$/.exec(issue?.message ?? '')?.[1]?.split(', ');
      expect({ path, keys: accepted?.sort() }).toEqual({ path, keys: Object.keys(table).sort() });
      expect(check(setIn(base(), [...path, 'zz_unknown'], 1))).toBe(false);
    }
  });

  it.each(leaves(fields).map(([path, f]) => ({ at: path.join('.'), path, f })))(
    '$at: good values pass both, bad values fail both',
    ({ path, f }) => {
      const good = goodValue(f);
      if (good !== null) {
        const doc = setIn(base(), path, good);
        expect({ validator: validate(doc).ok, schema: check(doc) }).toEqual({
          validator: true,
          schema: true,
        });
      }
      for (const bad of badValues(f)) {
        const doc = setIn(base(), path, bad);
        expect({ bad, validator: validate(doc).ok, schema: check(doc) }).toEqual({
          bad,
          validator: false,
          schema: false,
        });
      }
    },
  );
});
