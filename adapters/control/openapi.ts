/**
 * The OpenAPI 3.1 description of the control API, served at GET /v1/openapi.json. Schemas
 * follow the view types of core/engine/api.ts and adapters/control; a test validates the
 * real daemon's answer to every route against them, and checks that every route of the
 * router is described here and every path here is routed.
 */

type S = Record<string, unknown>;

const ref = (name: string): S => ({ $ref: `#/components/schemas/${name}` });
const int: S = { type: 'integer' };
const nnInt: S = { type: 'integer', minimum: 0 };
const str: S = { type: 'string' };
const bool: S = { type: 'boolean' };
const nullable = (t: string): S => ({ type: [t, 'null'] });
const arr = (items: S): S => ({ type: 'array', items });
const strings = arr(str);

/** An object with every listed property required and no other. */
function obj(properties: Record<string, S>, optional: string[] = []): S {
  const required = Object.keys(properties).filter((k) => !optional.includes(k));
  return { type: 'object', properties, required, additionalProperties: false };
}

/** A `logs` rotation (core/manifest/limits.ts LOG_ROTATION_RANGES; 0 = daemon's default). */
const logRotation = obj({ maxBytes: nnInt, keep: nnInt });

const exitStatus = obj({ code: nullable('integer'), signal: nullable('string'), status: int });
const enforce: S = { enum: ['none', 'log', 'kill'] };

/** The fields of core/manifest/types.ts CommandSpec, as the API shows and takes them. */
const commandSpecFields: Record<string, S> = {
  label: str,
  exec: str,
  argv: strings,
  envp: strings,
  cwd: str,
  restart: { enum: ['no', 'on-failure', 'always'] },
  restartOnFailure: bool,
  backoffMs: nnInt,
  backoffMsMax: nnInt,
  crashLoopMax: nnInt,
  crashLoopWindowMs: nnInt,
  ready: { enum: ['exec', 'notify'] },
  readyTimeoutMs: nnInt,
  watchdogMs: nnInt,
  dependsOn: strings,
  user: str,
  group: str,
  logs: logRotation,
};

const schemas: Record<string, S> = {
  Error: obj({
    error: obj(
      {
        code: { enum: ['not_found', 'invalid', 'conflict', 'spawn_failed', 'unavailable'] },
        message: str,
        field: str,
        errno: int,
        syscall: str,
        issues: arr(obj({ path: str, message: str, line: int }, ['line'])),
      },
      ['field', 'errno', 'syscall', 'issues'],
    ),
  }),
  WorkspaceSpec: obj({
    label: str,
    onExit: { enum: ['reap', 'wait'] },
    ttlMs: nnInt,
    rlimits: obj({ memBytes: nnInt, nproc: nnInt, nofile: nnInt }),
    namespaces: obj(
      Object.fromEntries(
        ['user', 'pid', 'mount', 'net', 'uts', 'ipc', 'cgroup'].map((k) => [k, bool]),
      ),
    ),
    cgroupPath: str,
    quotaEnforce: obj({ mem: enforce, nproc: enforce }),
  }),
  CommandSpec: obj(commandSpecFields, ['logs']),
  /** A run request: the same fields, only `exec` required (defaults fill the rest). */
  CommandRequest: obj(
    commandSpecFields,
    Object.keys(commandSpecFields).filter((k) => k !== 'exec'),
  ),
  WorkspaceView: obj({
    id: str,
    label: str,
    state: { enum: ['running', 'stopping', 'stopped'] },
    createdAtWallMs: int,
    uptimeMs: nnInt,
    commandsAlive: nnInt,
    commandsTotal: nnInt,
    pipelines: nnInt,
    warnings: strings,
    spec: ref('WorkspaceSpec'),
  }),
  CommandView: obj(
    {
      id: str,
      label: str,
      workspaceId: str,
      pid: nullable('integer'),
      alive: bool,
      state: {
        enum: [
          'waiting',
          'starting',
          'running',
          'backoff',
          'exited',
          'crash-loop',
          'gave-up',
          'lost',
        ],
      },
      exit: { oneOf: [exitStatus, { type: 'null' }] },
      restarts: nnInt,
      backoffMs: nnInt,
      startedAtWallMs: int,
      spec: ref('CommandSpec'),
      logBytes: nnInt,
    },
    ['logBytes'],
  ),
  QuotaView: obj({
    workspaceId: str,
    limits: obj({ memBytes: nnInt, nproc: nnInt, nofile: nnInt }),
    usage: obj({ memBytes: nnInt, nprocAlive: nnInt }),
    breaches: strings,
    enforce: obj({ mem: str, nproc: str }),
    source: { enum: ['cgroup', 'proc'] },
  }),
  StatsView: obj({
    workspaceId: str,
    commandsAlive: nnInt,
    commandsTotal: nnInt,
    rssBytes: nnInt,
    rssPeakBytes: nnInt,
    cpuUs: nnInt,
    cpuPercent: { type: 'number', minimum: 0 },
    cores: nnInt,
    uptimeMs: nnInt,
    source: { enum: ['cgroup', 'proc', 'persisted'] },
    history: arr(obj({ wallMs: int, rssBytes: nnInt, cpuUs: nnInt, cpuPermille: nnInt })),
  }),
  PipelineView: obj({
    id: str,
    label: str,
    workspaceId: str,
    state: { enum: ['running', 'backoff', 'stopped', 'done', 'crash-loop', 'gave-up'] },
    supervised: bool,
    restarts: nnInt,
    backoffMs: nnInt,
    nodes: arr(
      obj(
        {
          label: str,
          commandId: str,
          pid: nullable('integer'),
          alive: bool,
          exit: { oneOf: [exitStatus, { type: 'null' }] },
          logs: logRotation,
        },
        ['logs'],
      ),
    ),
    taps: arr(obj({ edgeIndex: nnInt, socketPath: str })),
    verdicts: arr(obj({ edgeIndex: nnInt, ty: str, mime: str, confPermille: nnInt })),
  }),
  SavedPipelineView: obj({ name: str, source: str, savedAtWallMs: int }),
  HealthView: obj({ workspaces: nnInt, commandsAlive: nnInt, pipelines: nnInt, flows: nnInt }),
  Caps: {
    type: 'object',
    properties: {
      version: { enum: ['v1', 'v2', 'hybrid', 'none'] },
      delegated: bool,
      controllers: strings,
      writable: bool,
      userNamespaces: bool,
      pidfd: bool,
      cloneIntoCgroup: bool,
      root: nullable('string'),
      reasons: strings,
    },
    required: ['version', 'delegated', 'userNamespaces', 'pidfd', 'reasons'],
  },
  FlowView: obj(
    {
      socketPath: str,
      key: str,
      edgeIndex: nnInt,
      bytesTotal: nnInt,
      bytesPerSec: { type: 'number', minimum: 0 },
      readers: nnInt,
    },
    ['readers'],
  ),
  DoctorView: obj({
    daemon: obj({ reachable: { const: true }, pid: int, socket: str, uptimeMs: nnInt }),
    caps: ref('Caps'),
    snapshot: obj({
      path: str,
      restore: { oneOf: [{ type: 'object' }, { type: 'null' }] },
      ok: bool,
      message: str,
    }),
    findings: arr(obj({ what: str, fix: str, wallMs: int })),
  }),
  PsRow: obj(
    {
      workspace: str,
      workspaceId: str,
      kind: { enum: ['command', 'pipeline-node'] },
      label: str,
      id: str,
      pipelineId: nullable('string'),
      pid: nullable('integer'),
      state: str,
      alive: bool,
      restarts: nnInt,
      startedAtWallMs: nullable('integer'),
      uptimeMs: nullable('integer'),
      rssBytes: nullable('integer'),
      cpuUs: nullable('integer'),
      cpuPermille: nullable('integer'),
      tree: { oneOf: [ref('ProcNode'), { type: 'null' }] },
    },
    ['tree'],
  ),
  ProcNode: obj({
    pid: int,
    comm: str,
    state: str,
    rssBytes: nnInt,
    children: arr(ref('ProcNode')),
  }),
  PsView: obj({ wallMs: int, rows: arr(ref('PsRow')) }),
  Reaped: obj({ reaped: nnInt }),
  ApplyReply: obj({
    dryRun: bool,
    plan: strings,
    unchanged: strings,
    results: arr(obj({ action: str, id: str, pid: nullable('integer') }, ['id', 'pid'])),
  }),
  TaskResult: obj({
    code: nullable('integer'),
    signal: nullable('string'),
    reason: { enum: ['exit', 'signal', 'timeout', 'spawn-failed'] },
    stderrTail: str,
    wallMs: int,
  }),
  WorkerView: obj({
    name: str,
    workspaceId: str,
    state: { enum: ['idle', 'delivering', 'running', 'stopping', 'backoff', 'draining'] },
    depth: nnInt,
    running: { oneOf: [{ type: 'null' }, obj({ taskId: str, pid: int, attempt: nnInt })] },
    prepared: { oneOf: [{ type: 'null' }, obj({ taskId: str, pid: int, attempt: nnInt })] },
    pushed: nnInt,
    done: nnInt,
    failed: nnInt,
    dead: nnInt,
    last: {
      oneOf: [
        { type: 'null' },
        { allOf: [ref('TaskResult')], type: 'object', required: ['taskId'] },
      ],
    },
    deadLetters: arr(obj({ id: str, attempt: nnInt, last: ref('TaskResult') })),
    held: nullable('string'),
    exec: str,
    argv: strings,
    envp: strings,
    cwd: str,
    backoffMsInitial: nnInt,
    backoffMsMax: nnInt,
    timeoutMs: nnInt,
    killGraceMs: nnInt,
    crashLoopMax: nnInt,
    crashLoopWindowMs: nnInt,
  }),
  Task: obj(
    {
      id: str,
      seq: nnInt,
      attempt: nnInt,
      state: { enum: ['queued', 'running', 'dead'] },
      bytes: nnInt,
      payload: { type: 'string', contentEncoding: 'base64' },
      pushedAtWallMs: int,
      last: ref('TaskResult'),
    },
    ['last'],
  ),
};

const json = (schema: S, description = 'ok'): S => ({
  description,
  content: { 'application/json': { schema } },
});
const errors: S = {
  '4XX': json(ref('Error'), 'a request error: bad input (400), not found (404), conflict (409)'),
  '5XX': json(ref('Error'), 'spawn failed (500), capability missing (503)'),
};
const body = (schema: S): S => ({ required: true, content: { 'application/json': { schema } } });
const grace = body({ type: 'object', properties: { graceMs: nnInt } });
const pathParam = (name: string, doc: string): S => ({
  name,
  in: 'path',
  required: true,
  schema: str,
  description: doc,
});
const queryParam = (name: string, schema: S, doc: string): S => ({
  name,
  in: 'query',
  required: false,
  schema,
  description: doc,
});
const wsParam = pathParam('ws', 'workspace id or label');
const cmdParam = pathParam('cmd', 'command id or label');

const logBytes = {
  description: 'the bytes',
  content: { 'application/octet-stream': { schema: str } },
};
const logParams = [
  queryParam('which', { enum: ['stdout', 'stderr', 'both'] }, 'default both'),
  queryParam('tail', nnInt, 'only the last bytes'),
  queryParam('lines', nnInt, 'only the last lines'),
  queryParam('since', str, 'a duration back from now (10m) or an RFC 3339 time'),
  queryParam('until', str, 'a duration back from now (10m) or an RFC 3339 time'),
  queryParam('timestamps', { enum: ['1', 'true', '0'] }, 'prefix each line with its time'),
  queryParam('follow', { enum: ['1', 'true', '0'] }, 'keep streaming'),
];
function op(summary: string, ok: S, extra: S = {}): S {
  return { summary, ...extra, responses: { '200': ok, ...errors } };
}

const runPipelineBody = body({
  type: 'object',
  properties: {
    source: str,
    vars: { type: 'object', additionalProperties: str },
    tap: bool,
  },
});

const paths: Record<string, S> = {
  '/v1/workspaces': {
    post: op('create a workspace', json(obj({ id: str, warnings: strings })), {
      requestBody: body({ type: 'object', properties: { toml: str, spec: { type: 'object' } } }),
    }),
    get: op('list workspaces', json(arr(ref('WorkspaceView')))),
  },
  '/v1/workspaces/{ws}': {
    parameters: [wsParam],
    get: op('one workspace', json(ref('WorkspaceView'))),
  },
  '/v1/workspaces/{ws}/stop': {
    parameters: [wsParam],
    post: op('stop: SIGTERM, SIGKILL after graceMs', json(ref('Reaped')), { requestBody: grace }),
  },
  '/v1/workspaces/{ws}/quota': {
    parameters: [wsParam],
    get: op('limits beside usage', json(ref('QuotaView'))),
  },
  '/v1/workspaces/{ws}/stats': {
    parameters: [wsParam],
    get: op('usage and its history', json(ref('StatsView'))),
  },
  '/v1/workspaces/{ws}/commands': {
    parameters: [wsParam],
    post: op('run a command', json(ref('CommandView')), {
      requestBody: body(ref('CommandRequest')),
    }),
    get: op('the commands of a workspace', json(arr(ref('CommandView')))),
  },
  '/v1/workspaces/{ws}/commands/{cmd}': {
    parameters: [wsParam, cmdParam],
    get: op('one command', json(ref('CommandView'))),
    delete: op('stop one command, then forget it', json(obj({ removed: str, label: str })), {
      parameters: [queryParam('grace', nnInt, 'grace in ms before SIGKILL (default 1000)')],
    }),
  },
  '/v1/workspaces/{ws}/commands/{cmd}/restart': {
    parameters: [wsParam, cmdParam],
    post: op('operator restart', json(ref('CommandView'))),
  },
  '/v1/workspaces/{ws}/commands/{cmd}/stop': {
    parameters: [wsParam, cmdParam],
    post: op(
      'stop one command: SIGTERM, SIGKILL after graceMs; not restarted',
      json(ref('Reaped')),
      {
        requestBody: grace,
      },
    ),
  },
  '/v1/workspaces/{ws}/commands/{cmd}/logs': {
    parameters: [wsParam, cmdParam],
    get: op('captured output; follow=1 streams until the command ends', logBytes, {
      parameters: logParams,
    }),
  },
  '/v1/workspaces/{ws}/logs': {
    parameters: [wsParam],
    get: op(
      'every command and pipeline node of the workspace, merged by time, lines prefixed; ' +
        'follow=1 streams while the workspace runs, taking in what starts meanwhile',
      logBytes,
      { parameters: logParams },
    ),
  },
  '/v1/pipelines': {
    post: op('run a pipeline from TOML', json(ref('PipelineView')), {
      requestBody: runPipelineBody,
    }),
    get: op('list pipelines', json(arr(ref('PipelineView')))),
  },
  '/v1/pipelines/{id}': {
    parameters: [pathParam('id', 'pipeline id')],
    get: op('one pipeline', json(ref('PipelineView'))),
  },
  '/v1/pipelines/{id}/stop': {
    parameters: [pathParam('id', 'pipeline id')],
    post: op('stop a pipeline', json(ref('Reaped')), { requestBody: grace }),
  },
  '/v1/pipelines/{id}/restart': {
    parameters: [pathParam('id', 'pipeline id or unique label')],
    post: op('stop a pipeline and run it again', json(ref('PipelineView'))),
  },
  '/v1/apply': {
    post: op('reconcile the daemon with an apply file', json(ref('ApplyReply')), {
      requestBody: body({
        type: 'object',
        properties: { source: str, baseDir: str, prune: bool, dryRun: bool },
        required: ['source'],
      }),
    }),
  },
  '/v1/saved-pipelines': {
    get: op('saved pipelines', json(arr(ref('SavedPipelineView')))),
  },
  '/v1/saved-pipelines/{name}': {
    parameters: [pathParam('name', 'saved pipeline name')],
    put: op('save a pipeline (templates unexpanded)', json(ref('SavedPipelineView')), {
      requestBody: body({ type: 'object', properties: { source: str }, required: ['source'] }),
    }),
    get: op('one saved pipeline', json(ref('SavedPipelineView'))),
    delete: op('forget a saved pipeline', json(obj({ dropped: str }))),
  },
  '/v1/saved-pipelines/{name}/run': {
    parameters: [pathParam('name', 'saved pipeline name')],
    post: op('run a saved pipeline', json(ref('PipelineView')), { requestBody: runPipelineBody }),
  },
  '/v1/workers': {
    post: op('declare a worker in a workspace', json(ref('WorkerView')), {
      requestBody: body({ type: 'object', required: ['workspace', 'name', 'exec'] }),
    }),
    get: op('workers with depth, running task and outcome counts', json(arr(ref('WorkerView')))),
  },
  '/v1/workers/{name}': {
    parameters: [pathParam('name', 'worker name')],
    get: op('one worker', json(ref('WorkerView'))),
    delete: op(
      'drop a worker (409 while tasks remain, unless force)',
      json(obj({ dropped: str })),
      {
        parameters: [queryParam('force', { enum: ['1', 'true', '0'] }, 'discard its tasks')],
      },
    ),
  },
  '/v1/workers/{name}/tasks': {
    parameters: [pathParam('name', 'worker name')],
    post: op(
      'push a task (the body, any bytes): answers after the commit',
      json(obj({ id: str, seq: nnInt })),
      {
        requestBody: {
          required: true,
          content: { 'application/octet-stream': { schema: str } },
        },
      },
    ),
    get: op('queued tasks in delivery order, or dead letters', json(arr(ref('Task'))), {
      parameters: [
        queryParam('dead', { enum: ['1', 'true', '0'] }, 'dead letters instead'),
        queryParam('limit', nnInt, 'at most this many (default 1000)'),
      ],
    }),
  },
  '/v1/workers/{name}/tasks/{id}/retry': {
    parameters: [pathParam('name', 'worker name'), pathParam('id', 'task id')],
    post: op('a dead letter back to the tail of the queue', json(ref('Task'))),
  },
  '/v1/health': { get: op('counts', json(ref('HealthView'))) },
  '/v1/caps': { get: op('cgroup and kernel capabilities', json(ref('Caps'))) },
  '/v1/doctor': { get: op('diagnosis with fixes', json(ref('DoctorView'))) },
  '/v1/flows': { get: op('flow sockets', json(arr(ref('FlowView')))) },
  '/v1/ps': {
    get: op('every command and pipeline node with usage', json(ref('PsView')), {
      parameters: [queryParam('tree', { enum: ['1', 'true', '0'] }, 'add process trees')],
    }),
  },
  '/v1/events': {
    get: op(
      'lifecycle events as server-sent events; each has an id, Last-Event-ID resumes',
      { description: 'the stream', content: { 'text/event-stream': { schema: str } } },
      {
        parameters: [
          queryParam('history', nnInt, 'past events first (default 100)'),
          queryParam('follow', { enum: ['1', 'true', '0'] }, 'keep streaming'),
          { name: 'Last-Event-ID', in: 'header', required: false, schema: str },
        ],
      },
    ),
  },
  '/v1/openapi.json': {
    get: op('this description', json({ type: 'object', required: ['openapi', 'paths'] })),
  },
  '/metrics': {
    get: op('Prometheus text exposition', {
      description: 'metrics',
      content: { 'text/plain': { schema: str } },
    }),
  },
};

export function openApiDocument(version: string): S {
  return {
    openapi: '3.1.0',
    info: {
      title: 'shipote control API',
      version,
      description:
        'HTTP/1.1 + JSON on the daemon Unix socket. Whoever can connect can run commands as ' +
        "the daemon's uid: the socket is 0600 in a 0700 directory.",
    },
    paths,
    components: { schemas },
  };
}
