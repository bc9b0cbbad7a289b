/** Workers in `/metrics` and `doctor`: queue depth, task outcomes, dead letters to retry. */

import type { Supervisor } from '../../core/engine/api.js';
import type { WorkerView } from '../../core/engine/worker-api.js';

/** A doctor finding (DoctorFinding of types.ts, by shape: types.ts imports the metrics). */
interface Finding {
  what: string;
  fix: string;
  wallMs: number;
}

export interface MetricFamily {
  name: string;
  type: 'gauge' | 'counter';
  help: string;
  samples: { labels?: Record<string, string>; value: number }[];
}

const workersIn = (sup: Supervisor): WorkerView[] => sup.listWorkers?.() ?? [];

/**
 * The outcome counters are the queue store's: they are committed with the outcome they
 * count, so they survive daemon restarts and never go down (a dropped worker's series
 * ends).
 */
export function workerMetrics(sup: Supervisor): MetricFamily[] {
  const workers = workersIn(sup);
  const per = (value: (w: WorkerView) => number) =>
    workers.map((w) => ({ labels: { worker: w.name }, value: value(w) }));
  const outcomes = workers.flatMap((w) =>
    (['pushed', 'done', 'failed', 'dead'] as const).map((outcome) => ({
      labels: { worker: w.name, outcome },
      value: w[outcome],
    })),
  );
  return [
    {
      name: 'shipote_worker_queue_depth',
      type: 'gauge',
      help: 'Tasks queued for a worker, the running one included.',
      samples: per((w) => w.depth),
    },
    {
      name: 'shipote_worker_running',
      type: 'gauge',
      help: 'Whether a task of the worker is running (0 or 1).',
      samples: per((w) => (w.running ? 1 : 0)),
    },
    {
      name: 'shipote_worker_tasks_total',
      type: 'counter',
      help: 'Task outcomes: pushed, done (exit 0), failed (each failed attempt), dead.',
      samples: outcomes,
    },
    {
      name: 'shipote_worker_dead_letters',
      type: 'gauge',
      help: 'Dead letters waiting for `shipote worker retry`.',
      samples: per((w) => w.deadLetters.length),
    },
  ];
}

/** One finding per dead letter, with the command that puts it back in the queue. */
export function workerFindings(sup: Supervisor): Finding[] {
  return workersIn(sup).flatMap((w) =>
    w.deadLetters.map((d) => {
      const how =
        d.last.signal ?? (d.last.reason === 'exit' ? `exit ${d.last.code}` : d.last.reason);
      return {
        what: `worker ${w.name}: task ${d.id} dead after ${d.attempt} attempts (${how})`,
        fix: `shipote worker retry ${w.name} ${d.id}`,
        wallMs: d.last.wallMs,
      };
    }),
  );
}
