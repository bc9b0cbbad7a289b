/**
 * The one place `shipote daemon --apply FILE` calls apply (docs/CONTRACT.md §7): the
 * reconciler of apply files is built beside this (core/manifest/apply.ts and its route);
 * connecting it means replacing the body of `applyFileAtStart` with that call. Until then
 * `--apply` refuses to start (exit 1) with this message, and `--init` gives the same
 * PID 1 behaviour without a file.
 */

import type { Supervisor } from '../../core/engine/api.js';

export interface ApplyAtStartDeps {
  supervisor: Supervisor;
  log: (line: string) => void;
}

export async function applyFileAtStart(path: string, _deps: ApplyAtStartDeps): Promise<void> {
  throw new Error(
    `--apply ${path}: apply is not connected in this build; start with --init and apply ` +
      'with the CLI',
  );
}
