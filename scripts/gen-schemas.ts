/**
 * Writes schemas/*.json from the spec field table (core/manifest/fields.ts).
 *   npm run schemas          write them
 *   npm run schemas -- --check   exit 1 when a file is not what the table generates
 */

import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { allSchemas } from '../core/manifest/schema.js';

export const schemasDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'schemas');

export function renderedSchemas(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, schema] of Object.entries(allSchemas())) {
    out[name] = `${JSON.stringify(schema, null, 2)}\n`;
  }
  return out;
}

function main(): void {
  const check = process.argv.includes('--check');
  let stale = 0;
  for (const [name, text] of Object.entries(renderedSchemas())) {
    const path = join(schemasDir, name);
    let current = '';
    try {
      current = readFileSync(path, 'utf8');
    } catch {
      // absent: written below, or stale in --check
    }
    if (current === text) continue;
    if (check) {
      process.stderr.write(`${path} is stale: run npm run schemas\n`);
      stale++;
    } else {
      writeFileSync(path, text);
      process.stdout.write(`wrote ${path}\n`);
    }
  }
  process.exitCode = stale > 0 ? 1 : 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
