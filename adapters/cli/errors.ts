/** Exit codes scripts can trust (docs/CONTRACT.md), and the one error type the CLI throws. */

export const exitOk = 0;
export const exitFailed = 1;
export const exitUsage = 2;
export const exitNotFound = 3;
export const exitConflict = 4;
export const exitUnreachable = 69;

export class CliError extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
    /** Printed after the message, one per line, indented (spec issues). */
    readonly details: string[] = [],
  ) {
    super(message);
  }
}

export function usage(message: string): CliError {
  return new CliError(exitUsage, message);
}

/** HTTP status of an error reply → exit code. */
export function exitCodeForStatus(status: number): number {
  if (status === 404) return exitNotFound;
  if (status === 409) return exitConflict;
  return exitFailed;
}

interface ErrorReply {
  error?: {
    code?: string;
    message?: string;
    issues?: { path: string; message: string; line?: number }[];
  };
}

/** Turns a non-2xx reply into a CliError with one clear line (+ spec issues). */
export function errorFromReply(status: number, body: unknown, context?: string): CliError {
  const reply = (typeof body === 'object' && body !== null ? body : {}) as ErrorReply;
  const error = reply.error;
  const code = exitCodeForStatus(status);
  if (!error?.message) {
    return new CliError(code, `daemon answered ${status}: ${String(body).slice(0, 200)}`);
  }
  if (error.issues && error.issues.length > 0) {
    const head = error.message.split('\n')[0]?.replace(/:$/, '') ?? 'invalid';
    const where = context ? ` in ${context}` : '';
    const details = error.issues.map((i) => {
      const line = i.line === undefined ? '' : ` (line ${i.line})`;
      return `${i.path}: ${i.message}${line}`;
    });
    return new CliError(code, `${head}${where}:`, details);
  }
  return new CliError(code, error.message);
}

/**
 * `${NAME}` left in an error (a template variable nobody set, e.g. `no workspace "${WS}"`):
 * one hint per variable naming it and the flag that sets it.
 */
export function templateHints(texts: string[]): string[] {
  const names = new Set<string>();
  for (const text of texts)
    for (const m of text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g)) names.add(m[1] ?? '');
  return [...names].map(
    (n) => `hint: \${${n}} is a template variable that was not set: pass --var ${n}=<value>`,
  );
}
