/**
 * The one place `shipote daemon --apply FILE` calls apply (docs/CONTRACT.md §7): the file is
 * applied as `shipote apply FILE` would (routes-apply.ts `applySource`), once the daemon has
 * restored its snapshot, before it serves. A refused file or a failed action throws: the
 * daemon logs it and exits 1.
 */

import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Supervisor } from '../../core/engine/api.js';
import { HttpError } from '../control/http-util.js';
import { applySource } from '../control/routes-apply.js';

export interface ApplyAtStartDeps {
  supervisor: Supervisor;
  log: (line: string) => void;
}

export async function applyFileAtStart(path: string, deps: ApplyAtStartDeps): Promise<void> {
  const file = resolve(path);
  let source: string;
  try {
    source = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new Error(`--apply ${path}: cannot read it: ${code}`);
  }
  try {
    const options = { prune: false, dryRun: false };
    const reply = await applySource(deps, source, dirname(file), options);
    for (const line of reply.plan) deps.log(`apply: ${line}`);
    deps.log(`apply: ${reply.plan.length} actions, ${reply.unchanged.length} unchanged`);
  } catch (error) {
    if (!(error instanceof HttpError)) throw error;
    throw new Error(`--apply ${path}: ${error.message}`);
  }
}
