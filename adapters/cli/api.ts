/**
 * The CLI's view of the daemon: JSON calls that start a daemon on first use and turn
 * error replies into CliErrors with the right exit code.
 */

import { requestJson, requestStream, UnreachableError } from '../control/client.js';
import { startDaemon } from './autostart.js';
import { CliError, errorFromReply, exitUnreachable } from './errors.js';

export interface ApiOptions {
  socketPath: string;
  /** Start a daemon when none answers (default true). */
  autostart: boolean;
  say: (line: string) => void;
}

export class Api {
  private started = false;

  constructor(readonly options: ApiOptions) {}

  private async withDaemon<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (!(error instanceof UnreachableError)) throw error;
      if (!this.options.autostart || this.started) {
        throw new CliError(exitUnreachable, `${error.message}; is the daemon running?`);
      }
      this.started = true;
      await startDaemon(this.options.socketPath, this.options.say);
      return await call();
    }
  }

  /** A 2xx JSON body, or a CliError; `context` names the file for spec errors. */
  async call<T>(method: string, path: string, body?: unknown, context?: string): Promise<T> {
    const reply = await this.withDaemon(() =>
      requestJson<T>(this.options.socketPath, method, path, body),
    );
    if (reply.status >= 200 && reply.status < 300) return reply.body;
    throw errorFromReply(reply.status, reply.body, context);
  }

  get<T>(path: string): Promise<T> {
    return this.call<T>('GET', path);
  }

  post<T>(path: string, body: unknown = {}, context?: string): Promise<T> {
    return this.call<T>('POST', path, body, context);
  }

  /**
   * A streaming GET (logs, events): chunks go to `onChunk` until the server ends; while a
   * promise it returns is pending, nothing more is read (backpressure up to the daemon).
   */
  async stream(path: string, onChunk: (chunk: Buffer) => unknown): Promise<void> {
    const result = await this.withDaemon(() =>
      requestStream(this.options.socketPath, path, onChunk),
    );
    if (result.status >= 200 && result.status < 300) return;
    let body: unknown = result.errorText;
    try {
      body = JSON.parse(result.errorText);
    } catch {
      // Not JSON: report the text as it is.
    }
    throw errorFromReply(result.status, body);
  }
}

export function enc(ref: string): string {
  return encodeURIComponent(ref);
}
