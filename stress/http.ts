/** A tiny HTTP-over-Unix-socket client with a deadline, for the stress attacks. */

import { request } from 'node:http';

export interface Answer {
  /** 0: no answer (connection refused, reset, or the deadline passed). */
  status: number;
  body: string;
  error?: string;
}

export function call(
  socket: string,
  method: string,
  path: string,
  body?: string | Buffer,
  deadlineMs = 5000,
): Promise<Answer> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (a: Answer) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(a);
    };
    const req = request({ socketPath: socket, method, path, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        finish({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }),
      );
      res.on('error', (e) => finish({ status: 0, body: '', error: e.message }));
    });
    const timer = setTimeout(() => {
      finish({ status: 0, body: '', error: `no answer within ${deadlineMs} ms` });
      req.destroy();
    }, deadlineMs);
    req.on('error', (e) => finish({ status: 0, body: '', error: e.message }));
    if (body !== undefined) {
      req.setHeader('content-type', 'application/json');
      req.setHeader('content-length', Buffer.byteLength(body));
      req.write(body);
    }
    req.end();
  });
}

export function callJson(socket: string, method: string, path: string, value?: unknown) {
  return call(socket, method, path, value === undefined ? undefined : JSON.stringify(value));
}

/**
 * Health answered 200 within the deadline. A full accept queue (connect EAGAIN) is retried
 * within the deadline, as the CLI does: the question is whether the daemon answers.
 */
export async function health(socket: string, deadlineMs = 5000): Promise<Answer> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const a = await call(socket, 'GET', '/v1/health', undefined, Math.max(1, until - Date.now()));
    const busy = a.status === 0 && (a.error ?? '').includes('EAGAIN');
    if (!busy || Date.now() >= until) return a;
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function healthy(socket: string, deadlineMs = 5000): Promise<boolean> {
  return (await health(socket, deadlineMs)).status === 200;
}
