/**
 * One tagged error for everything the e2e harness does to a container, so a failing
 * suite says which stage broke (`start`, `exec`, `cgroup`, …) and keeps the original
 * failure as `cause` (Effect's pg-utils fixture does the same with `PgContainerError`).
 */

export type E2eStage =
  | 'image' // the local image is missing (run through `npm run e2e`)
  | 'start' // the container did not start
  | 'exec' // an exec into the container failed or timed out
  | 'stop' // the container did not stop or could not be removed
  | 'cgroup' // the cgroup namespace is not private, or a hierarchy could not be mounted
  | 'shipote' // the shipote CLI or daemon misbehaved
  | 'poll'; // a condition was not met before its deadline

export class E2eError extends Error {
  readonly _tag = 'E2eError';
  readonly stage: E2eStage;
  /** Thrown from a poll probe: stop polling at once (waiting cannot fix it). */
  readonly fatal: boolean;

  constructor(stage: E2eStage, message: string, options?: { cause?: unknown; fatal?: boolean }) {
    super(
      `[e2e:${stage}] ${message}`,
      options?.cause === undefined ? {} : { cause: options.cause },
    );
    this.name = 'E2eError';
    this.stage = stage;
    this.fatal = options?.fatal ?? false;
  }
}
