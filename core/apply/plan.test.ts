import fc from 'fast-check';
import type { ApplyDocument, ApplyPipeline, ServiceSpec, WorkerDecl } from '../manifest/apply.js';
import { pipelinePolicies, workspaceSpec } from '../manifest/defaults.js';
import { nodeLogRotation } from '../manifest/pipeline.js';
import type { WorkspaceSpec } from '../manifest/types.js';
import {
  type ApplyAction,
  type ApplyPlan,
  describeAction,
  type LiveState,
  pipelineSignature,
  planApply,
  workerSignature,
} from './plan.js';

// ── builders ─────────────────────────────────────────────────────────────────────────

function service(workspace: string, label: string, over: Partial<ServiceSpec> = {}): ServiceSpec {
  return {
    label,
    workspace,
    exec: '/bin/sleep',
    argv: ['100'],
    cwd: '',
    envp: [],
    user: '',
    group: '',
    restart: 'always',
    backoffMs: 200,
    backoffMsMax: 30000,
    crashLoopMax: 3,
    crashLoopWindowMs: 300000,
    ready: 'exec',
    readyTimeoutMs: 0,
    watchdogMs: 0,
    dependsOn: [],
    logs: { maxBytes: 0, keep: 0 },
    ...over,
  };
}

function pipeline(label: string, workspace: string, nodes: string[]): ApplyPipeline {
  return {
    spec: {
      label,
      workspace,
      ...pipelinePolicies(),
      nodes: nodes.map((n) => ({ label: n, payload: { exec: '/bin/cat', argv: [], envp: [] } })),
      edges: [],
    },
    source: '',
    vars: {},
  };
}

function worker(name: string, workspace: string, exec = '/bin/true'): WorkerDecl {
  return { name, workspace, exec, argv: [], cwd: '', envp: [] };
}

const EMPTY: LiveState = { workspaces: [], services: [], pipelines: [], workers: [] };

function doc(over: Partial<ApplyDocument>): ApplyDocument {
  return { workspaces: [], services: [], pipelines: [], workers: [], ...over };
}

// ── the model: what executing a plan does to the live state ─────────────────────────

function dropWorkspace(s: LiveState, label: string): LiveState {
  return {
    workspaces: s.workspaces.filter((w) => w.label !== label),
    services: s.services.filter((x) => x.workspace !== label),
    pipelines: s.pipelines.filter((p) => p.workspace !== label),
    workers: s.workers,
  };
}

function step(s: LiveState, a: ApplyAction, id: string): LiveState {
  const pl = (p: ApplyPipeline) => ({
    id,
    label: p.spec.label,
    workspace: p.spec.workspace,
    signature: pipelineSignature(
      p.spec.workspace,
      p.spec.nodes.map((n) => n.label),
    ),
  });
  const wk = (w: WorkerDecl) => ({
    name: w.name,
    workspace: w.workspace,
    signature: workerSignature(w),
  });
  switch (a.kind) {
    case 'remove-service':
      return { ...s, services: s.services.filter((x) => x.id !== a.id) };
    case 'remove-pipeline':
      return { ...s, pipelines: s.pipelines.filter((x) => x.id !== a.id) };
    case 'remove-worker':
      return { ...s, workers: s.workers.filter((x) => x.name !== a.name) };
    case 'remove-workspace':
      return dropWorkspace(s, a.label);
    case 'create-workspace':
    case 'replace-workspace': {
      const d = dropWorkspace(s, a.label);
      return { ...d, workspaces: [...d.workspaces, { id, label: a.label, spec: a.spec }] };
    }
    case 'start-service':
    case 'replace-service':
    case 'restart-service': {
      const rest = s.services.filter((x) => x.workspace !== a.workspace || x.label !== a.label);
      const svc = { id, workspace: a.workspace, label: a.label, spec: a.spec, running: true };
      return { ...s, services: [...rest, svc] };
    }
    case 'start-pipeline':
    case 'replace-pipeline': {
      const rest = s.pipelines.filter((x) => x.label !== a.label);
      return { ...s, pipelines: [...rest, pl(a.pipeline)] };
    }
    case 'create-worker':
    case 'replace-worker': {
      const rest = s.workers.filter((x) => x.name !== a.worker.name);
      return { ...s, workers: [...rest, wk(a.worker)] };
    }
  }
}

function execute(s: LiveState, plan: ApplyPlan, tag: string): LiveState {
  return plan.actions.reduce((acc, a, i) => step(acc, a, `${tag}-${i}`), s);
}

function mustPlan(d: ApplyDocument, s: LiveState, prune: boolean): ApplyPlan {
  const result = planApply(d, s, { prune });
  if (!result.ok) throw new Error(JSON.stringify(result.issues));
  return result.value;
}

function servicesOf(s: LiveState) {
  return s.services
    .map((x) => ({ key: `${x.workspace}/${x.label}`, spec: x.spec, running: x.running }))
    .sort((a, b) => (a.key < b.key ? -1 : 1));
}

// ── arbitraries ──────────────────────────────────────────────────────────────────────

const WS = ['a', 'b', 'c'];
const LABELS = ['s1', 's2', 's3', 's4'];

const wsSpec = (label: string) =>
  fc.constantFrom(0, 5000).map((ttlMs): WorkspaceSpec => workspaceSpec({ label, ttlMs }));

const serviceOver = fc.record({
  exec: fc.constantFrom('/bin/sleep', '/bin/cat'),
  restart: fc.constantFrom('no' as const, 'on-failure' as const, 'always' as const),
  envp: fc.constantFrom<string[][]>([], ['A=1']),
});

/** A valid document: services in its own workspaces, each depending only on earlier ones. */
const docArb: fc.Arbitrary<ApplyDocument> = fc
  .subarray(WS, { minLength: 1 })
  .chain((wss) =>
    fc.record({
      workspaces: fc.tuple(...wss.map(wsSpec)),
      services: fc.uniqueArray(
        fc.record({
          ws: fc.constantFrom(...wss),
          label: fc.constantFrom(...LABELS),
          over: serviceOver,
          deps: fc.array(fc.nat(3), { maxLength: 2 }),
        }),
        { selector: (x) => `${x.ws}/${x.label}`, maxLength: 8 },
      ),
      pipelines: fc.uniqueArray(
        fc.record({
          label: fc.constantFrom('p1', 'p2', 'p3'),
          ws: fc.constantFrom(...wss),
          nodes: fc.constantFrom<string[][]>(['n'], ['n', 'm']),
        }),
        { selector: (x) => x.label, maxLength: 3 },
      ),
      workers: fc.uniqueArray(
        fc.record({
          name: fc.constantFrom('w1', 'w2'),
          ws: fc.constantFrom(...wss),
          exec: fc.constantFrom('/x', '/y'),
        }),
        { selector: (x) => x.name, maxLength: 2 },
      ),
    }),
  )
  .map(({ workspaces, services, pipelines, workers }) => {
    const specs = services.map((s, i) => {
      const earlier = services.slice(0, i).filter((e) => e.ws === s.ws);
      const deps = [
        ...new Set(s.deps.filter((d) => d < earlier.length).map((d) => earlier[d]!.label)),
      ];
      return service(s.ws, s.label, { ...s.over, dependsOn: deps });
    });
    return doc({
      workspaces,
      services: specs,
      pipelines: pipelines.map((p) => pipeline(p.label, p.ws, p.nodes)),
      workers: workers.map((w) => worker(w.name, w.ws, w.exec)),
    });
  });

/** The same documents with their services in any order (dependencies may come later). */
const shuffledDocArb = docArb.chain((d) =>
  fc
    .shuffledSubarray(d.services, { minLength: d.services.length, maxLength: d.services.length })
    .map((services) => ({ ...d, services })),
);

/** Anything that may run now, consistent (services live in live workspaces). */
const liveArb: fc.Arbitrary<LiveState> = fc
  .subarray(WS)
  .chain((wss) =>
    fc.record({
      workspaces: fc.tuple(...wss.map(wsSpec)),
      services: fc.uniqueArray(
        fc.record({
          ws: fc.constantFrom(...WS),
          label: fc.constantFrom(...LABELS, 'old'),
          over: serviceOver,
          running: fc.boolean(),
        }),
        { selector: (x) => `${x.ws}/${x.label}`, maxLength: 8 },
      ),
      pipelines: fc.uniqueArray(
        fc.record({
          label: fc.constantFrom('p1', 'p2', 'p9'),
          ws: fc.constantFrom(...WS),
          nodes: fc.constantFrom<string[][]>(['n'], ['x']),
        }),
        { selector: (x) => x.label, maxLength: 3 },
      ),
      wss: fc.constant(wss),
      workers: fc.uniqueArray(
        fc.record({ name: fc.constantFrom('w1', 'w2', 'w9'), exec: fc.constantFrom('/x', '/z') }),
        { selector: (x) => x.name, maxLength: 3 },
      ),
    }),
  )
  .map(({ workspaces, services, pipelines, workers, wss }) => ({
    workspaces: workspaces.map((spec, i) => ({ id: `live-ws-${i}`, label: spec.label, spec })),
    services: services
      .filter((s) => wss.includes(s.ws))
      .map((s, i) => ({
        id: `live-svc-${i}`,
        workspace: s.ws,
        label: s.label,
        spec: service(s.ws, s.label, s.over),
        running: s.running,
      })),
    pipelines: pipelines
      .filter((p) => wss.includes(p.ws))
      .map((p, i) => ({
        id: `live-pl-${i}`,
        label: p.label,
        workspace: p.ws,
        signature: pipelineSignature(p.ws, p.nodes),
      })),
    workers: workers.map((w) => ({
      name: w.name,
      workspace: 'a',
      signature: workerSignature(worker(w.name, 'a', w.exec)),
    })),
  }));

// ── properties ───────────────────────────────────────────────────────────────────────

describe('planApply properties', () => {
  it('is idempotent: planning against the state a plan produced yields an empty plan', () => {
    fc.assert(
      fc.property(docArb, liveArb, fc.boolean(), (d, live, prune) => {
        const after = execute(live, mustPlan(d, live, prune), 'x');
        expect(mustPlan(d, after, prune).actions).toEqual([]);
      }),
    );
  });

  it("converges: after a plan, every service of the file runs with the file's spec", () => {
    fc.assert(
      fc.property(docArb, liveArb, fc.boolean(), (d, live, prune) => {
        const after = execute(live, mustPlan(d, live, prune), 'x');
        for (const want of d.services) {
          const got = after.services.find(
            (s) => s.workspace === want.workspace && s.label === want.label,
          );
          expect(got).toMatchObject({ spec: want, running: true });
        }
      }),
    );
  });

  it('restarts exactly the services of the file that stopped running', () => {
    fc.assert(
      fc.property(docArb, fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }), (d, down) => {
        const up = execute(EMPTY, mustPlan(d, EMPTY, false), 'x');
        const state = {
          ...up,
          services: up.services.map((s, i) => ({ ...s, running: !down[i] })),
        };
        const plan = mustPlan(d, state, false);
        const stopped = state.services.filter((s) => !s.running).map((s) => s.id);
        expect(plan.actions.map((a) => ('id' in a ? `${a.kind} ${a.id}` : a.kind)).sort()).toEqual(
          stopped.map((id) => `restart-service ${id}`).sort(),
        );
      }),
    );
  });

  it('apply A then B (pruning) equals apply B, for services', () => {
    fc.assert(
      fc.property(docArb, docArb, liveArb, (a, b, live) => {
        const viaA = execute(live, mustPlan(a, live, false), 'a');
        const ab = execute(viaA, mustPlan(b, viaA, true), 'b');
        const onlyB = execute(live, mustPlan(b, live, true), 'b');
        expect(servicesOf(ab)).toEqual(servicesOf(onlyB));
      }),
    );
  });

  it('prune removes exactly what the file does not name', () => {
    fc.assert(
      fc.property(docArb, liveArb, (d, live) => {
        const after = execute(live, mustPlan(d, live, true), 'x');
        const sorted = (xs: string[]) => [...xs].sort();
        expect(sorted(after.services.map((s) => `${s.workspace}/${s.label}`))).toEqual(
          sorted(d.services.map((s) => `${s.workspace}/${s.label}`)),
        );
        expect(sorted(after.pipelines.map((p) => p.label))).toEqual(
          sorted(d.pipelines.map((p) => p.spec.label)),
        );
        expect(sorted(after.workers.map((w) => w.name))).toEqual(
          sorted(d.workers.map((w) => w.name)),
        );
        expect(sorted(after.workspaces.map((w) => w.label))).toEqual(
          sorted(d.workspaces.map((w) => w.label)),
        );
      }),
    );
  });

  it('without prune, nothing the file does not name is touched', () => {
    fc.assert(
      fc.property(docArb, liveArb, (d, live) => {
        const plan = mustPlan(d, live, false);
        const kinds = plan.actions.map((a) => a.kind);
        expect(kinds.filter((k) => k.startsWith('remove-'))).toEqual([]);
      }),
    );
  });

  it('starts every service after the services it depends on', () => {
    fc.assert(
      fc.property(shuffledDocArb, liveArb, fc.boolean(), (d, live, prune) => {
        const plan = mustPlan(d, live, prune);
        const at = new Map<string, number>();
        plan.actions.forEach((a, i) => {
          if ('spec' in a && 'workspace' in a) at.set(`${a.workspace}/${a.label}`, i);
        });
        for (const a of plan.actions) {
          if (!('spec' in a && 'workspace' in a)) continue;
          for (const dep of a.spec.dependsOn) {
            const depAt = at.get(`${a.workspace}/${dep}`);
            if (depAt !== undefined)
              expect(depAt).toBeLessThan(at.get(`${a.workspace}/${a.label}`)!);
          }
        }
      }),
    );
  });
});

// ── examples ─────────────────────────────────────────────────────────────────────────

describe('planApply', () => {
  const ws = workspaceSpec({ label: 'web' });
  const live: LiveState = {
    ...EMPTY,
    workspaces: [{ id: 'W1', label: 'web', spec: ws }],
    services: [
      { id: 'C1', workspace: 'web', label: 'api', spec: service('web', 'api'), running: true },
      { id: 'C2', workspace: 'web', label: 'db', spec: service('web', 'db'), running: false },
      { id: 'C3', workspace: 'web', label: 'old', spec: service('web', 'old'), running: true },
    ],
  };

  it('starts, replaces, restarts and leaves alone, and prints each line', () => {
    const d = doc({
      workspaces: [ws],
      services: [
        service('web', 'api', { argv: ['200'], dependsOn: ['db'] }),
        service('web', 'db'),
        service('web', 'cache'),
      ],
    });
    const plan = mustPlan(d, live, true);
    expect(plan.actions.map(describeAction)).toEqual([
      '- service web/old (remove: not in the file)',
      '~ service web/db (not running: restart)',
      '+ service web/cache',
      '~ service web/api (changed: argv, dependsOn)',
    ]);
    expect(plan.unchanged).toEqual(['workspace web']);
  });

  it('replaces a workspace whose spec changed and starts its services again', () => {
    const d = doc({ workspaces: [{ ...ws, ttlMs: 1000 }], services: [service('web', 'api')] });
    const plan = mustPlan(d, live, false);
    expect(plan.actions.map(describeAction)).toEqual([
      '~ workspace web (spec changed: stop and create again)',
      '+ service web/api',
    ]);
  });

  it("replaces a service or pipeline whose logs rotation changed, keeps one that didn't", () => {
    const rotated = { logs: { maxBytes: 8192, keep: 2 } };
    const etl = pipeline('etl', 'web', ['a', 'b']);
    const etlLogs = { ...etl, spec: { ...etl.spec, logs: { maxBytes: 0, keep: 5 } } };
    const running = (p: ApplyPipeline, id: string) => ({
      id,
      label: p.spec.label,
      workspace: 'web',
      signature: pipelineSignature(
        'web',
        p.spec.nodes.map((n) => n.label),
        p.spec.nodes.map((_, i) => nodeLogRotation(p.spec, i)),
      ),
    });
    const state: LiveState = {
      ...live,
      services: [{ ...live.services[0]!, spec: service('web', 'api', rotated) }],
      pipelines: [
        running(etl, 'P1'),
        running({ ...etl, spec: { ...etl.spec, label: 'tl' } }, 'P2'),
      ],
    };
    const tl = { ...etlLogs, spec: { ...etlLogs.spec, label: 'tl' } };
    const changed = mustPlan(
      doc({ services: [service('web', 'api')], pipelines: [etlLogs, tl] }),
      state,
      false,
    );
    expect(changed.actions.map(describeAction)).toEqual([
      '~ service web/api (changed: logs)',
      '~ pipeline etl (changed: stop and run again)',
      '~ pipeline tl (changed: stop and run again)',
    ]);
    const same = mustPlan(
      doc({ services: [service('web', 'api', rotated)], pipelines: [etl] }),
      state,
      false,
    );
    expect(same.actions).toEqual([]);
  });

  it('refuses a service, pipeline or worker in a workspace that is nowhere', () => {
    const d = doc({
      services: [service('nowhere', 'x')],
      pipelines: [pipeline('p', 'gone', ['n'])],
      workers: [worker('w', 'void')],
    });
    const result = planApply(d, EMPTY, { prune: false });
    expect(result).toEqual({
      ok: false,
      issues: [
        {
          path: 'services[0].workspace',
          message: 'no workspace "nowhere" in this file or in the daemon',
        },
        {
          path: 'pipelines[0].workspace',
          message: 'no workspace "gone" in this file or in the daemon',
        },
        {
          path: 'workers[0].workspace',
          message: 'no workspace "void" in this file or in the daemon',
        },
      ],
    });
  });

  it('uses a workspace that runs but is not in the file, and prune leaves it', () => {
    const d = doc({ services: [service('web', 'api'), service('web', 'db')] });
    const plan = mustPlan(d, live, true);
    expect(plan.actions.map(describeAction)).toEqual([
      '- service web/old (remove: not in the file)',
      '~ service web/db (not running: restart)',
    ]);
  });

  it('starts, replaces and leaves pipelines and workers by label and name', () => {
    const state: LiveState = {
      ...live,
      pipelines: [
        { id: 'P1', label: 'etl', workspace: 'web', signature: pipelineSignature('web', ['a']) },
      ],
      workers: [
        { name: 'mail', workspace: 'web', signature: workerSignature(worker('mail', 'web')) },
      ],
    };
    const d = doc({
      pipelines: [pipeline('etl', 'web', ['a', 'b']), pipeline('new', 'web', ['n'])],
      workers: [worker('mail', 'web'), worker('push', 'web')],
      services: live.services.map((s) => s.spec),
    });
    const plan = mustPlan(d, state, false);
    expect(plan.actions.map(describeAction)).toEqual([
      '~ service web/db (not running: restart)',
      '~ pipeline etl (changed: stop and run again)',
      '+ pipeline new',
      '+ worker push',
    ]);
    expect(plan.unchanged).toEqual(['service web/api', 'service web/old', 'worker mail']);
  });
});
