/**
 * A worker thread of the parallel campaign (parallel.ts): runs the chunks of seeds it is
 * sent, one after another, and answers each with the chunk's results in seed order.
 */

import { parentPort, workerData } from 'node:worker_threads';
import { createSupervisor } from '../core/engine/supervisor.js';
import { policyOptions } from './canary.js';
import type { ChunkReply, ChunkRequest, WorkerInit } from './parallel.js';
import { type RunResult, runSeed } from './runner.js';

const init = workerData as WorkerInit;
const supervisorOptions = policyOptions(init.policy);

async function runChunk(chunk: ChunkRequest): Promise<ChunkReply> {
  const results: RunResult[] = [];
  for (let i = 0; i < chunk.count; i++) {
    const result = await runSeed({
      seed: chunk.fromSeed + i,
      createSupervisor,
      digest: init.digest,
      ...(supervisorOptions ? { supervisorOptions } : {}),
    });
    // A passing seed's workload is not read by the main thread (only a failure is replayed
    // and shrunk from its operations): not copied across threads.
    results.push(result.violation === null ? { ...result, ops: [] } : result);
    if (init.stopAtFirst && result.violation !== null) break;
  }
  return { fromSeed: chunk.fromSeed, results };
}

const port = parentPort!;
let tail = Promise.resolve();
port.on('message', (chunk: ChunkRequest) => {
  tail = tail.then(async () => port.postMessage(await runChunk(chunk)));
});
