/**
 * The OpenAPI description matches the API: every routed METHOD + path is described and
 * every described one is routed, and the real daemon's answer to every route (success and
 * error) validates against the described schema for its status and content type
 * (ajv, JSON Schema 2020-12 as OpenAPI 3.1 uses).
 */

import { writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { Harness, harnessSkipReason, waitFor } from '../../testing/harness.js';
import { buildRouter } from './server.js';

const why = harnessSkipReason();
const maybe = why ? describe.skip : describe;
if (why) console.warn(`${import.meta.url.split('/').pop()}: skipped: ${why}`);
jest.setTimeout(60_000);

type Doc = {
  paths: Record<string, Record<string, { responses: Record<string, Response> }>>;
};
type Response = { content?: Record<string, { schema: unknown }> };

interface Raw {
  status: number;
  type: string;
  text: string;
}

function raw(socketPath: string, method: string, path: string, body?: unknown): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers = payload ? { 'content-type': 'application/json' } : {};
    const req = request({ socketPath, method, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          type: String(res.headers['content-type'] ?? ''),
          text: Buffer.concat(chunks).toString('utf8'),
        }),
      );
    });
    req.on('error', reject);
    req.end(payload);
  });
}

const toOpenApi = (pattern: string) => pattern.replace(/:(\w+)/g, '{$1}');

maybe(`the OpenAPI description against a real daemon${why ? ` (skipped: ${why})` : ''}`, () => {
  let h: Harness;
  let doc: Doc;
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  const seen = new Set<string>();

  beforeAll(async () => {
    h = new Harness();
    await h.startDaemon();
    const r = await raw(h.socketPath, 'GET', '/v1/openapi.json');
    doc = JSON.parse(r.text) as Doc;
    ajv.addSchema(doc, 'api');
  });
  afterAll(async () => {
    await raw(h.socketPath, 'POST', '/v1/workspaces/api/stop', { graceMs: 0 });
    await h?.close();
  });

  /** Calls the route and validates the answer against the description of `template`. */
  async function check(method: string, template: string, path: string, body?: unknown) {
    const r = await raw(h.socketPath, method, path, body);
    const op = doc.paths[template]?.[method.toLowerCase()];
    if (!op) throw new Error(`${method} ${template} is not described`);
    const key = String(r.status) in op.responses ? String(r.status) : `${String(r.status)[0]}XX`;
    const response = op.responses[key];
    expect({
      at: `${method} ${path}`,
      status: r.status,
      described: response !== undefined,
    }).toEqual({ at: `${method} ${path}`, status: r.status, described: true });
    const mediaType = r.type.split(';')[0] ?? '';
    const media = response?.content?.[mediaType];
    expect({ at: `${method} ${path}`, mediaType, described: media !== undefined }).toEqual({
      at: `${method} ${path}`,
      mediaType,
      described: true,
    });
    if (mediaType === 'application/json') {
      const escaped = template.replace(/~/g, '~0').replace(/\//g, '~1');
      const where = `${method.toLowerCase()}/responses/${key}/content/application~1json/schema`;
      const pointer = `api#/paths/${escaped}/${where}`;
      const validate = ajv.getSchema(pointer);
      if (!validate) throw new Error(`no schema at ${pointer}`);
      const value = JSON.parse(r.text);
      const ok = validate(value);
      expect({ at: `${method} ${path}`, errors: ok ? null : validate.errors }).toEqual({
        at: `${method} ${path}`,
        errors: null,
      });
    }
    if (r.status < 300) seen.add(`${method} ${template}`);
    return r;
  }

  it('describes exactly the routes the router serves', () => {
    const routed = buildRouter()
      .list()
      .map((r) => `${r.method} ${toOpenApi(r.pattern)}`)
      .sort();
    const described = Object.entries(doc.paths)
      .flatMap(([path, ops]) =>
        Object.keys(ops)
          .filter((m) => m !== 'parameters')
          .map((m) => `${m.toUpperCase()} ${path}`),
      )
      .sort();
    expect(described).toEqual(routed);
  });

  it('every route answers as described, successes and errors', async () => {
    const ws = '/v1/workspaces/{ws}';
    const cmd = `${ws}/commands/{cmd}`;
    await check('POST', '/v1/workspaces', '/v1/workspaces', { toml: 'label = "api"\n' });
    await check('POST', '/v1/workspaces', '/v1/workspaces', { toml: 'label = 3\n' });
    await check('GET', '/v1/workspaces', '/v1/workspaces');
    await check('GET', ws, '/v1/workspaces/api');
    await check('GET', ws, '/v1/workspaces/nope');
    await check('GET', `${ws}/quota`, '/v1/workspaces/api/quota');
    await check('GET', `${ws}/stats`, '/v1/workspaces/api/stats');
    const spec = { exec: '/bin/sh', argv: ['-c', 'echo hi; exec sleep 60'], envp: [], label: 'c' };
    await check('POST', `${ws}/commands`, '/v1/workspaces/api/commands', spec);
    await check('POST', `${ws}/commands`, '/v1/workspaces/api/commands', { exec: 5 });
    await check('GET', `${ws}/commands`, '/v1/workspaces/api/commands');
    await check('GET', cmd, '/v1/workspaces/api/commands/c');
    await check('GET', `${cmd}/logs`, '/v1/workspaces/api/commands/c/logs');
    await check('GET', `${ws}/logs`, '/v1/workspaces/api/logs?lines=5&timestamps=1');
    await check('POST', `${cmd}/restart`, '/v1/workspaces/api/commands/c/restart');
    await check('POST', `${cmd}/stop`, '/v1/workspaces/api/commands/c/stop', { graceMs: 0 });
    await check('DELETE', cmd, '/v1/workspaces/api/commands/c?grace=0');
    await check('DELETE', cmd, '/v1/workspaces/api/commands/c?grace=0');
    const applyFile = '[[services]]\nlabel = "svc"\nworkspace = "api"\nexec = "/bin/sleep"\n';
    await check('POST', '/v1/apply', '/v1/apply', { source: `${applyFile}argv = ["60"]\n` });
    await check('POST', '/v1/apply', '/v1/apply', { source: `${applyFile}argv = 60\n` });
    const source =
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a pipeline template variable
      'label = "pl"\nworkspace = "${WS}"\n[[nodes]]\nlabel = "a"\n' +
      'payload.Native = { exec = "/bin/sh", argv = ["-c", "echo 1; exec sleep 60"], envp = [] }\n' +
      '[[nodes]]\nlabel = "b"\npayload.Native = { exec = "/bin/cat", argv = [], envp = [] }\n' +
      '[[edges]]\nfrom = 0\nfrom_output = "stdout"\nto = 1\nto_input = "stdin"\n';
    writeFileSync(join(h.dir, 'pl.toml'), source);
    const run = await check('POST', '/v1/pipelines', '/v1/pipelines', {
      source,
      vars: { WS: 'api' },
      tap: true,
    });
    const id = (JSON.parse(run.text) as { id: string }).id;
    await check('GET', '/v1/pipelines', '/v1/pipelines');
    await check('GET', '/v1/pipelines/{id}', `/v1/pipelines/${id}`);
    await waitFor('a flow socket', async () => {
      const flows = await raw(h.socketPath, 'GET', '/v1/flows');
      return JSON.parse(flows.text).length > 0;
    });
    await check('GET', '/v1/flows', '/v1/flows');
    await check('GET', '/v1/ps', '/v1/ps?tree=1');
    await check('GET', '/metrics', '/metrics');
    await check('POST', '/v1/pipelines/{id}/restart', '/v1/pipelines/pl/restart');
    await check('POST', '/v1/pipelines/{id}/stop', `/v1/pipelines/${id}/stop`, { graceMs: 0 });
    const saved = '/v1/saved-pipelines/{name}';
    await check('PUT', saved, '/v1/saved-pipelines/s', { source });
    await check('GET', '/v1/saved-pipelines', '/v1/saved-pipelines');
    await check('GET', saved, '/v1/saved-pipelines/s');
    const runSaved = `${saved}/run`;
    const again = await check('POST', runSaved, '/v1/saved-pipelines/s/run', {
      vars: { WS: 'api' },
    });
    const againId = (JSON.parse(again.text) as { id: string }).id;
    await raw(h.socketPath, 'POST', `/v1/pipelines/${againId}/stop`, { graceMs: 0 });
    await check('DELETE', saved, '/v1/saved-pipelines/s');
    await check('DELETE', saved, '/v1/saved-pipelines/s');
    await check('GET', '/v1/health', '/v1/health');
    await check('GET', '/v1/caps', '/v1/caps');
    await check('GET', '/v1/doctor', '/v1/doctor');
    await check('GET', '/v1/events', '/v1/events?history=10');
    await check('GET', '/v1/openapi.json', '/v1/openapi.json');
    await checkWorkers(check);
    await check('POST', `${ws}/stop`, '/v1/workspaces/api/stop', { graceMs: 0 });
    const routed = buildRouter()
      .list()
      .map((r) => `${r.method} ${toOpenApi(r.pattern)}`);
    expect(routed.filter((r) => !seen.has(r))).toEqual([]);
  });
});

type Check = (method: string, template: string, path: string, body?: unknown) => Promise<Raw>;

/** The worker routes, each answered as described (a task that fails ends dead-lettered). */
async function checkWorkers(check: Check): Promise<void> {
  const w = '/v1/workers/{name}';
  const tasks = `${w}/tasks`;
  const spec = {
    workspace: 'api',
    name: 'w',
    exec: '/bin/sh',
    argv: ['-c', 'exit 3'],
    backoffMsInitial: 1,
    crashLoopMax: 1,
  };
  await check('POST', '/v1/workers', '/v1/workers', spec);
  await check('POST', '/v1/workers', '/v1/workers', { ...spec, name: 'a b' });
  await check('GET', '/v1/workers', '/v1/workers');
  await check('GET', w, '/v1/workers/w');
  await check('GET', w, '/v1/workers/nope');
  await check('POST', tasks, '/v1/workers/w/tasks', 'a task');
  let dead: { id: string }[] = [];
  for (let i = 0; i < 200 && dead.length === 0; i++) {
    await new Promise((r) => setTimeout(r, 50));
    dead = JSON.parse((await check('GET', tasks, '/v1/workers/w/tasks?dead=1')).text);
  }
  expect(dead).toHaveLength(1);
  const retry = `${tasks}/{id}/retry`;
  await check('POST', retry, `/v1/workers/w/tasks/${dead[0]?.id}/retry`);
  await check('POST', retry, '/v1/workers/w/tasks/nope/retry');
  await check('GET', tasks, '/v1/workers/w/tasks');
  await check('DELETE', w, '/v1/workers/w?force=1');
  await check('DELETE', w, '/v1/workers/w');
}
