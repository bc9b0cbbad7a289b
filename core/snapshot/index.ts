/** Versioned snapshot of declared intent (contract §5): types, codec, migration. */

export { canonicalJson, decodeSnapshot, encodeSnapshot, migrate, packOlder } from './codec.js';
export {
  type DecodeResult,
  emptySnapshot,
  PERSISTED_SAMPLES_MAX,
  type PersistedCommand,
  type PersistedLivePipeline,
  type PersistedSavedPipeline,
  type PersistedStats,
  type PersistedWorkspace,
  SNAPSHOT_VERSION,
  type Snapshot,
} from './types.js';
export type { SnapshotV1 } from './v1.js';
export type { SnapshotV2 } from './v2.js';
export type { SnapshotV3 } from './v3.js';
export type { SnapshotV4 } from './v4.js';
