/** Small helpers around node:http for JSON bodies and error replies. */

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApiError, ApiErrorCode, ApiResult } from '../../core/engine/api.js';
import { LIMITS, labelProblem } from '../../core/manifest/limits.js';
import type { SpecIssue } from '../../core/manifest/types.js';

export const bodyBytesMax = LIMITS.bodyBytesMax;

const statusByCode: Record<ApiErrorCode, number> = {
  not_found: 404,
  invalid: 400,
  conflict: 409,
  spawn_failed: 500,
  unavailable: 503,
};

export function statusFor(code: ApiErrorCode): number {
  return statusByCode[code];
}

/** A failed request, thrown inside handlers and turned into a JSON error reply. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly apiError: ApiError & { issues?: SpecIssue[] },
  ) {
    super(apiError.message);
  }
}

export function invalid(message: string, field?: string, issues?: SpecIssue[]): HttpError {
  const error: ApiError & { issues?: SpecIssue[] } = { code: 'invalid', message };
  if (field !== undefined) error.field = field;
  if (issues !== undefined) error.issues = issues;
  return new HttpError(400, error);
}

export function notFound(message: string): HttpError {
  return new HttpError(404, { code: 'not_found', message });
}

/** Unwraps an ApiResult or throws its error with the mapped status. */
export function unwrap<T>(result: ApiResult<T>): T {
  if (result.ok) return result.value;
  throw new HttpError(statusFor(result.error.code), result.error);
}

/**
 * An oversized body is read to its end and dropped, then refused with 413: a client that
 * writes its whole body first then gets the reply instead of a torn connection (EPIPE).
 * The request timeout bounds how long the drain can take.
 */
export async function readJsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req) {
    total += (chunk as Buffer).length;
    if (total <= bodyBytesMax) chunks.push(chunk as Buffer);
  }
  if (total > bodyBytesMax) {
    throw new HttpError(413, {
      code: 'invalid',
      message: `request body is ${total} bytes; the limit is ${bodyBytesMax} (bodyBytesMax)`,
    });
  }
  if (total === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (cause) {
    throw invalid(`request body is not JSON: ${(cause as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw invalid('request body must be a JSON object');
  }
  return parsed as Record<string, unknown>;
}

/**
 * Reads and drops whatever is left of a request body, so a reply is never written (and the
 * connection closed) while the client is still sending: it would see EPIPE, not the reply.
 * The server's request timeout bounds how long this can take.
 */
export function drainBody(req: IncomingMessage): Promise<void> {
  if (req.complete || req.readableEnded || req.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    req.once('end', resolve);
    req.once('close', resolve);
    req.once('error', () => resolve());
    req.resume();
  });
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = `${JSON.stringify(value)}\n`;
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

export function sendError(res: ServerResponse, error: unknown): void {
  if (error instanceof HttpError) {
    sendJson(res, error.status, { error: error.apiError });
    return;
  }
  const message = error instanceof Error ? error.message : String(error);
  sendJson(res, 500, { error: { code: 'internal', message } });
}

// ── request field readers (name the field that was wrong) ─────────────────────────

export function optString(body: Record<string, unknown>, field: string): string | undefined {
  const value = body[field];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw invalid(`${field}: expected a string`, field);
  return value;
}

export function optBool(body: Record<string, unknown>, field: string): boolean {
  const value = body[field];
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw invalid(`${field}: expected a boolean`, field);
  return value;
}

export function optNonNegInt(
  body: Record<string, unknown>,
  field: string,
  fallback: number,
): number {
  const value = body[field];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw invalid(`${field}: expected a non-negative integer`, field);
  }
  return value;
}

export function optVars(body: Record<string, unknown>, field: string): Record<string, string> {
  const value = body[field];
  if (value === undefined) return {};
  const bad = invalid(`${field}: expected an object of strings`, field);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw bad;
  for (const v of Object.values(value)) if (typeof v !== 'string') throw bad;
  return value as Record<string, string>;
}

/** Query integer: absent → fallback; malformed → 400 naming the parameter. */
export function queryInt(params: URLSearchParams, name: string, fallback?: number) {
  const raw = params.get(name);
  if (raw === null || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 0) {
    throw invalid(`${name}: expected a non-negative integer, got "${raw}"`, name);
  }
  return value;
}

/** A label from a request (docs/CONTRACT.md §1): 400 naming the field when malformed. */
export function checkLabel(label: string, field: string): void {
  const problem = labelProblem(label);
  if (problem !== null) throw invalid(`${field}: ${problem}`, field);
}

/** 413 naming a limit of docs/CLI.md (Limits): the request is fine, the state is full. */
export function overLimit(what: string, limitName: keyof typeof LIMITS): HttpError {
  const message = `${what}; the limit is ${LIMITS[limitName]} (${limitName})`;
  return new HttpError(413, { code: 'invalid', message });
}
