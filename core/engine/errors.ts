/** The engine's refusals: what every API method and table cell answers with. A leaf module. */

export type ApiErrorCode =
  | 'not_found' // no such workspace/command/pipeline/saved pipeline
  | 'invalid' // a request that fails validation (names `field`)
  | 'conflict' // duplicate label, workspace stopped, …
  | 'spawn_failed' // exec failure: errno/syscall set
  | 'unavailable'; // a capability the host lacks

export interface ApiError {
  code: ApiErrorCode;
  message: string;
  field?: string;
  errno?: number;
  syscall?: string;
}
