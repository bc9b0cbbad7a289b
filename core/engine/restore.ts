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
  const { snapshot, fromVersion } = decoded;
  shell.apply({ type: 'snapshot-restored', snapshot, wallMs: clock.wallMs() });
  for (const pipeline of snapshot.livePipelines) {
    const nodeIds = pipeline.spec.nodes.map(() => ids.next());
    shell.apply({ type: 'pipeline-relaunch', pipeline, nodeIds });
  }
  const relaunchedPipelines = snapshot.livePipelines.filter(
    (lp) => shell.state.pipelines.get(lp.id)?.spawns === 1,
  ).length;
  const workspaces = snapshot.workspaces.length;
  const savedPipelines = snapshot.savedPipelines.length;
  const message =
    `restored ${workspaces} workspaces, ${savedPipelines} saved pipelines, ` +
    `relaunched ${relaunchedPipelines} pipelines (snapshot v${fromVersion})`;
  return {
    outcome: 'restored',
    fromVersion,
    workspaces,
    savedPipelines,
    relaunchedPipelines,
    message,
  };
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
