/** Hand-written snapshot files of every version, as an older shipote would have left them. */

import { SPEC_WORKSPACE_VALUE } from '../manifest/fixtures.js';
import type { PipelineSpec, WorkspaceSpec } from '../manifest/types.js';

/** The the contract workspace example, as an older shipote stored it. */
export const WORKSPACE_SPEC: WorkspaceSpec = SPEC_WORKSPACE_VALUE;

export const PIPELINE_SPEC: PipelineSpec = {
  label: 'echo-cat',
  workspace: 'strict',
  discern: {
    sampleBytes: 4096,
    enrichProducer: true,
    replayChunks: 32,
    replayBytes: 0,
    maxBytesPerSec: 0,
  },
  nodes: [
    { label: 'producer', payload: { exec: '/bin/echo', argv: ['{"hello": 1}'], envp: [] } },
    { label: 'consumer', payload: { exec: '/bin/cat', argv: [], envp: ['A=1'] } },
  ],
  edges: [{ from: 0, fromOutput: 'stdout', to: 1, toInput: 'stdin' }],
  restart: {
    restartOnFailure: true,
    backoffMsInitial: 200,
    backoffMsMax: 30000,
    restartMax: 0,
    resetAfterMs: 10000,
  },
  crashLoop: { deathsMax: 3, windowMs: 300000 },
};

const WS = JSON.stringify(WORKSPACE_SPEC);
const PL = JSON.stringify(PIPELINE_SPEC);
const WORKSPACES = `[{"id": "01HZX0000000000000000000AA", "spec": ${WS},
  "createdAtWallMs": 1700000000000, "warnings": ["user namespaces unavailable"]}]`;
const SAVED = `[{"name": "echo", "source": "label = \\"echo-cat\\"\\n",
  "savedAtWallMs": 1700000001000}]`;
const LIVE = `[{"id": "01HZX0000000000000000000BB", "spec": ${PL}, "source": "label = \\"x\\"",
  "vars": {"WS": "strict"}, "tap": true, "restarts": 2, "backoffMs": 800}]`;

export const V1_TEXT = `{"version": 1, "workspaces": ${WORKSPACES}}`;
export const V2_TEXT = `{"version": 2, "workspaces": ${WORKSPACES}, "savedPipelines": ${SAVED}}`;
export const V3_TEXT = `{"version": 3, "workspaces": ${WORKSPACES}, "savedPipelines": ${SAVED},
  "livePipelines": ${LIVE}}`;
export const V4_TEXT = `{"version": 4, "workspaces": ${WORKSPACES}, "savedPipelines": ${SAVED},
  "livePipelines": ${LIVE}, "stats": [{"workspaceId": "01HZX0000000000000000000AA",
  "samples": [{"wallMs": 1700000002000, "rssBytes": 1048576, "cpuUs": 5000, "cpuPermille": 12}]}]}`;
const COMMANDS = `[{"id": "01HZX0000000000000000000CC", "workspaceId": "01HZX0000000000000000000AA",
  "spec": {"exec": "/usr/bin/web", "argv": ["--port", "8080"], "envp": [], "cwd": "",
  "label": "web", "restart": "always", "backoffMs": 200, "backoffMsMax": 30000,
  "crashLoopMax": 3, "crashLoopWindowMs": 300000, "ready": "notify", "readyTimeoutMs": 5000,
  "watchdogMs": 0, "dependsOn": [], "user": "", "group": ""}, "restarts": 1, "backoffMs": 400}]`;
export const V5_TEXT = `{"version": 5, "workspaces": ${WORKSPACES}, "savedPipelines": ${SAVED},
  "livePipelines": ${LIVE}, "stats": [], "commands": ${COMMANDS}}`;
