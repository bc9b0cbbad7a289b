/** Flow helpers for pipelines and logs: rings, replay, rate limiting, metering, sniffing. */

export { type Grant, TokenBucket } from './bucket.js';
export { discern, formatVerdict, utf8ValidLength, type Verdict } from './discern.js';
export { type JsonShape, scanJson } from './jsonscan.js';
export { ThroughputMeter } from './meter.js';
export { ReplayBuffer } from './replay.js';
export { ByteRing } from './ring.js';
