/** The supervisor's worker methods (contract §9); see worker-host.ts for the semantics. */

import type { WorkerSpec } from '../manifest/worker.js';
import type { DeadLetter, TaskRow } from '../ports.js';
import type { ApiResult } from './api.js';
import type { WorkerView } from './worker-views.js';

export type { WorkerView } from './worker-views.js';

export interface WorkerSupervisor {
  /** Declares a worker in workspace `ref`; durable before it returns ok. */
  createWorker(ref: string, spec: WorkerSpec): ApiResult<WorkerView>;
  /** Resolves once the task is committed to the queue (group commit per event-loop turn). */
  pushTask(name: string, payload: Uint8Array): Promise<ApiResult<{ id: string; seq: number }>>;
  listWorkers(): WorkerView[];
  getWorker(name: string): ApiResult<WorkerView>;
  listTasks(
    name: string,
    options: { dead: boolean; limit?: number },
  ): ApiResult<TaskRow[] | DeadLetter[]>;
  /** A dead letter back to the tail of the queue; its attempt count goes on from where it was. */
  retryTask(name: string, taskId: string): ApiResult<TaskRow>;
  /** Refused (conflict) while tasks remain, unless `force`: a running task is killed first. */
  dropWorker(name: string, options: { force: boolean }): Promise<ApiResult<true>>;
}
