/** The package version, read once from the package.json next to the sources or dist/. */

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** adapters/cli → ../../package.json; dist/adapters/cli → ../../../package.json. */
const CANDIDATES = ['../../package.json', '../../../package.json'];

export function packageVersion(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const rel of CANDIDATES) {
    try {
      const pkg = JSON.parse(readFileSync(join(here, rel), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'shipote' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // not this one
    }
  }
  return 'unknown';
}
