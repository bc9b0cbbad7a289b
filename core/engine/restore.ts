/** Start-up: read the store, decode the snapshot, restore it (or set the file aside). */

import { decodeSnapshot } from '../snapshot/index.js';
import type { RestoreReport } from './api.js';
import type { Shell } from './shell.js';

export function restoreFromStore(shell: Shell): RestoreReport {
  const { store, clock, ids } = shell.ports;
  const read = store.read();
  const empty = { workspaces: 0, savedPipelines: 0, relaunchedPipelines: 0 };
  if (read.kind === 'empty') {
    return { outcome: 'fresh', fromVersion: null, ...empty, message: 'no snapshot: fresh start' };
  }
  if (read.kind === 'error') return setAside(shell, `unreadable: ${read.error.message}`);
  const decoded = decodeSnapshot(read.text);
  if (!decoded.ok) return setAside(shell, `${decoded.reason}: ${decoded.message}`);
  const { snapshot, fromVersion, skipped } = decoded;
  const aside = skipped.length > 0 ? setAsideEntries(shell, skipped) : null;
  if (aside?.blocked) return aside.blocked;
  shell.apply({ type: 'snapshot-restored', snapshot, wallMs: clock.wallMs() });
  shell.apply({ type: 'commands-restored', commands: snapshot.commands });
  // The file with the bad entries went aside: write the valid part back at once.
  if (aside !== null) shell.writeLater();
  for (const pipeline of snapshot.livePipelines) {
    const nodeIds = pipeline.spec.nodes.map(() => ids.next());
    shell.apply({ type: 'pipeline-relaunch', pipeline, nodeIds });
  }
  const relaunchedPipelines = snapshot.livePipelines.filter(
    (lp) => shell.state.pipelines.get(lp.id)?.spawns === 1,
  ).length;
  const workspaces = snapshot.workspaces.length;
  const savedPipelines = snapshot.savedPipelines.length;
  const lost = snapshot.commands.filter((c) => c.spec.restart === 'no').length;
  const services = snapshot.commands.length - lost;
  const skippedText =
    aside === null ? '' : `; ${skipped.length} invalid entries set aside in ${aside.path}`;
  const message =
    `restored ${workspaces} workspaces, ${savedPipelines} saved pipelines, ` +
    `relaunched ${relaunchedPipelines} pipelines and ${services} services, ` +
    `${lost} commands lost (snapshot v${fromVersion})${skippedText}`;
  return {
    outcome: 'restored',
    fromVersion,
    workspaces,
    savedPipelines,
    relaunchedPipelines,
    message,
    ...(aside === null ? {} : { skipped, skippedAsidePath: aside.path }),
  };
}

/** Keeps the file holding bad entries (moved aside whole) before the valid part is saved. */
function setAsideEntries(
  shell: Shell,
  skipped: { path: string; message: string }[],
): { path: string; blocked?: RestoreReport } {
  // Stryker disable next-line OptionalChaining,StringLiteral: called with one skipped or more
  const first = skipped[0]?.path ?? '';
  shell.append('snapshot-entries-skipped', { count: skipped.length, first });
  const moved = shell.ports.store.setAside(`partial: ${skipped.length} invalid entries`);
  if (moved.ok) return { path: moved.value.path };
  // Stryker disable next-line StringLiteral: a blocked restore never reads the path
  return { path: '', blocked: setAside(shell, `partial, and ${moved.error.message}`) };
}

function setAside(shell: Shell, why: string): RestoreReport {
  const moved = shell.ports.store.setAside(why);
  const base = { fromVersion: null, workspaces: 0, savedPipelines: 0, relaunchedPipelines: 0 };
  if (moved.ok) {
    shell.append('snapshot-set-aside', { reason: why, path: moved.value.path });
    const message = `snapshot set aside (${why}); moved to ${moved.value.path}; starting empty`;
    return { outcome: 'set-aside', ...base, message };
  }
  const setAsideError = moved.error.message;
  const blocked = `snapshot could not be set aside (${setAsideError}); refusing to overwrite it`;
  shell.blockStore(blocked);
  shell.append('snapshot-set-aside', { reason: why, failed: true, message: setAsideError });
  return { outcome: 'set-aside', ...base, message: `${why}; ${blocked}` };
}
