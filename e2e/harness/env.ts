/**
 * What `e2e/run.sh` hands the suites through the environment, and the reasons a suite
 * is skipped. A suite that cannot run says why in its title and counts as skipped.
 */

import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export type CgroupVersion = 'v1' | 'v2';

/** The checkout on the host; bind-mounted read-only at `/src` in every container. */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const srcInContainer = '/src';

/** The local image built by run.sh (`shipote-e2e:<content hash>`). */
export const imageTag = process.env.SHIPOTE_E2E_IMAGE ?? '';

/** The host's cgroup layout as run.sh saw it; every title names it. */
export const cgroupVersion: CgroupVersion = process.env.SHIPOTE_E2E_CGROUP === 'v2' ? 'v2' : 'v1';

/** Why the container suites cannot run here, or null. */
export function containerSkipReason(): string | null {
  if (process.env.SHIPOTE_E2E_SKIP) return process.env.SHIPOTE_E2E_SKIP;
  if (!imageTag) return 'run through `npm run e2e` (SHIPOTE_E2E_IMAGE is not set)';
  if (!process.env.DOCKER_HOST) return 'no DOCKER_HOST: run through `npm run e2e`';
  return null;
}

/** Why the shipote suites cannot run here (container first, then the build), or null. */
export function shipoteSkipReason(): string | null {
  const why = containerSkipReason();
  if (why) return why;
  const needed = ['bin/shipote.mjs', 'dist/adapters/cli/main.js', 'dist/adapters/daemon'];
  const missing = needed.filter((rel) => !existsSync(path.join(repoRoot, rel)));
  const release = path.join(repoRoot, 'native', 'build', 'Release');
  const addon = existsSync(release) && readdirSync(release).some((f) => f.endsWith('.node'));
  if (!addon) missing.push('native/build/Release/*.node');
  return missing.length > 0 ? `shipote is not built: missing ${missing.join(', ')}` : null;
}
