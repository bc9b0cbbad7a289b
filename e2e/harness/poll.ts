import { E2eError } from './errors.js';

export interface PollOptions {
  /** What is being waited for, for the failure message. */
  what: string;
  timeoutMs?: number;
  intervalMs?: number;
}

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Calls `probe` until it returns a value other than `undefined`, or fails once the deadline
 * passes (with the probe's last error as `cause`). A probe that throws a fatal E2eError
 * ends the wait at once. The only waiting the suites do: never a bare sleep.
 */
export async function pollUntil<T>(
  probe: () => Promise<T | undefined>,
  options: PollOptions,
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 20_000;
  const intervalMs = options.intervalMs ?? 100;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
      lastError = undefined;
    } catch (error) {
      if (error instanceof E2eError && error.fatal) throw error;
      lastError = error;
    }
    if (Date.now() >= deadline) {
      throw new E2eError('poll', `timed out after ${timeoutMs} ms waiting for ${options.what}`, {
        cause: lastError,
      });
    }
    await pause(intervalMs);
  }
}
