/**
 * The worker side of `apply` over the supervisor's own worker methods (contract §7, §9).
 * A worker is compared by what it runs (`workerSignature`, its workspace by label). Removing
 * or replacing one never forces: a worker with queued tasks is refused, so no task is lost
 * to an apply; `worker drop --force` stays an operator's decision.
 */

import { workerSignature } from '../../core/apply/plan.js';
import type { ApiResult, Supervisor } from '../../core/engine/api.js';
import { validateWorkerSpec } from '../../core/manifest/worker.js';
import type { ApplyWorkerHook } from './apply-exec.js';
import { HttpError, statusFor } from './http-util.js';

function check<T>(result: ApiResult<T>): T {
  if (!result.ok) throw new HttpError(statusFor(result.error.code), result.error);
  return result.value;
}

/** Undefined when the supervisor has no worker support (no queue store). */
export function supervisorWorkers(sup: Supervisor): ApplyWorkerHook | undefined {
  if (!sup.workersAvailable || !sup.listWorkers || !sup.createWorker || !sup.dropWorker) {
    return undefined;
  }
  return {
    list() {
      const labelOf = new Map(sup.listWorkspaces().map((w) => [w.id, w.label]));
      return (sup.listWorkers?.() ?? []).map((w) => {
        const workspace = labelOf.get(w.workspaceId) ?? w.workspaceId;
        const { name, exec, argv, cwd, envp } = w;
        const signature = workerSignature({ name, workspace, exec, argv, cwd, envp });
        return { name, workspace, signature };
      });
    },
    async create(worker, workspaceId) {
      const { name, exec, argv, envp, cwd } = worker;
      const spec = validateWorkerSpec({ name, exec, argv, envp, cwd });
      if (!spec.ok) {
        const message = spec.issues.map((i) => `${i.path}: ${i.message}`).join('; ');
        throw new HttpError(400, { code: 'invalid', message: `worker ${name}: ${message}` });
      }
      check(sup.createWorker?.(workspaceId, spec.value) ?? unsupported());
    },
    async remove(name) {
      check((await sup.dropWorker?.(name, { force: false })) ?? unsupported());
    },
  };
}

function unsupported(): ApiResult<never> {
  return { ok: false, error: { code: 'unavailable', message: 'this daemon has no workers' } };
}
