/** GET /v1/openapi.json: the description of this API (openapi.ts). */

import { packageVersion } from '../cli/version.js';
import { openApiDocument } from './openapi.js';
import type { Router } from './router.js';

export function addOpenApiRoutes(router: Router): void {
  let doc: unknown = null;
  router.add('GET', '/v1/openapi.json', () => {
    doc ??= openApiDocument(packageVersion());
    return doc;
  });
}
