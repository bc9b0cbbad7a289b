/** A tiny method + path-pattern router: `/v1/workspaces/:ws/commands/:cmd`. */

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ControlDeps } from './types.js';

export interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  params: Record<string, string>;
  query: URLSearchParams;
  deps: ControlDeps;
}

/** Returns a value to send as JSON 200, or undefined when the handler replied itself. */
export type Handler = (ctx: Ctx) => unknown | Promise<unknown>;

interface Route {
  method: string;
  pattern: string;
  regex: RegExp;
  names: string[];
  handler: Handler;
}

export class Router {
  private readonly routes: Route[] = [];

  add(method: string, pattern: string, handler: Handler): this {
    const names: string[] = [];
    const source = pattern
      .split('/')
      .map((part) => {
        if (!part.startsWith(':')) return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        names.push(part.slice(1));
        return '([^/]+)';
      })
      .join('/');
    this.routes.push({ method, pattern, regex: new RegExp(`^${source}$`), names, handler });
    return this;
  }

  /** Every route as `METHOD /pattern` (for the OpenAPI coverage test). */
  list(): { method: string; pattern: string }[] {
    return this.routes.map(({ method, pattern }) => ({ method, pattern }));
  }

  /** `found` false: no such path; `allowed` lists the methods the path does accept. */
  match(
    method: string,
    path: string,
  ):
    | { found: true; handler: Handler; params: Record<string, string> }
    | { found: false; allowed: string[] } {
    const allowed: string[] = [];
    for (const route of this.routes) {
      const m = route.regex.exec(path);
      if (!m) continue;
      if (route.method !== method) {
        allowed.push(route.method);
        continue;
      }
      const params: Record<string, string> = {};
      route.names.forEach((name, i) => {
        params[name] = decodeURIComponent(m[i + 1] ?? '');
      });
      return { found: true, handler: route.handler, params };
    }
    return { found: false, allowed };
  }
}
