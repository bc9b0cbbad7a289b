export { toPortError } from './errors.js';
export {
  createFileEventLog,
  eventsKeepDefault,
  eventsMaxBytesDefault,
  type FileEventLog,
  type FileEventLogOptions,
} from './event-log.js';
export { createFileStore, type FileStore, type FileStoreOptions } from './file-store.js';
export { eventFromLine, formatEvent, parseLogfmt, quoteValue } from './logfmt.js';
export {
  eventLogPathFor,
  intFromEnv,
  resolveSocketPath,
  resolveStatePath,
} from './paths.js';
