/** The supervisor's worker methods (contract §9), defined in api.ts; see worker-host.ts. */

export type { TaskLogs, WorkerSupervisor } from './api.js';
export type { WorkerView } from './worker-views.js';
