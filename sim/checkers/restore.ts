/**
 * Restore checker: after a daemon crash and restart, every workspace and saved pipeline
 * whose acknowledgement was followed by a successful snapshot write comes back with the
 * same id (a durable drop stays dropped), and every such supervised pipeline that was
 * live is relaunched exactly once; no pipeline is relaunched twice.
 */

import type { PipelineView, WorkspaceView } from '../../core/engine/api.js';
import { canonicalJson } from '../../core/snapshot/canonical.js';
import type { CheckContext, Checker } from './types.js';

export class RestoreChecker implements Checker {
  readonly name = 'restore' as const;
  private before: {
    workspaces: Map<string, WorkspaceView>;
    pipelines: Map<string, PipelineView>;
  } | null = null;

  check(): string | null {
    return null;
  }

  beforeRestore(ctx: CheckContext): void {
    const workspaces = new Map(ctx.sup.listWorkspaces().map((w) => [w.id, w]));
    const pipelines = new Map(ctx.sup.listPipelines().map((p) => [p.id, p]));
    this.before = { workspaces, pipelines };
  }

  afterRestore(ctx: CheckContext): string | null {
    const before = this.before;
    if (before === null) return null;
    const durable = lastOkWriteIndex(ctx);
    const expectedWs = new Set<string>();
    for (const ws of ctx.model.workspaces) {
      const was = before.workspaces.get(ws.id);
      const expired = ws.spec.ttlMs > 0 && ctx.nowMs >= ws.createdAtMs + ws.spec.ttlMs;
      if (ws.ackWrite > durable || ws.stopAtMs !== null || was?.state !== 'running' || expired)
        continue;
      expectedWs.add(ws.id);
      ctx.cover('restored workspaces');
      const now = ctx.sup.getWorkspace(ws.id);
      if (now.ok && canonicalJson(now.value.spec) !== canonicalJson(ws.spec)) {
        return (
          `workspace ${ws.id} came back with a different spec: ` +
          `${canonicalJson(now.value.spec)} instead of ${canonicalJson(ws.spec)}`
        );
      }
      if (!now.ok || now.value.id !== ws.id || now.value.label !== ws.spec.label) {
        return (
          `workspace ${ws.id} (${ws.spec.label}) was acknowledged and persisted before the ` +
          `crash but is ${now.ok ? `back as ${now.value.id}/${now.value.label}` : 'missing'}` +
          ' after restore'
        );
      }
    }
    return this.savedPipelines(ctx, durable) ?? this.relaunches(ctx, durable, expectedWs);
  }

  private savedPipelines(ctx: CheckContext, durable: number): string | null {
    for (const saved of ctx.model.saved.values()) {
      if (saved.uncertain) continue;
      const now = ctx.sup.getSavedPipeline(saved.name);
      const present = now.ok;
      if (saved.droppedWrite === null && saved.savedWrite <= durable && !present) {
        return `saved pipeline "${saved.name}" was persisted before the crash but is missing`;
      }
      if (saved.droppedWrite === null && saved.savedWrite <= durable && now.ok) {
        ctx.cover('restored saved pipelines');
        if (now.value.source !== saved.source) {
          return `saved pipeline "${saved.name}" came back with a different source after restore`;
        }
      }
      if (saved.droppedWrite !== null && saved.droppedWrite <= durable && present) {
        return `saved pipeline "${saved.name}" was dropped (persisted) but came back after restore`;
      }
    }
    return null;
  }

  private relaunches(ctx: CheckContext, durable: number, expectedWs: Set<string>): string | null {
    const attempts = new Map<string, number>();
    for (const s of ctx.world.kernel.spawns) {
      if (s.gen === ctx.gen && s.group) attempts.set(s.key, (attempts.get(s.key) ?? 0) + 1);
    }
    for (const [key, count] of attempts) {
      if (count > 1) return `pipeline ${key} relaunched ${count} times by the restored daemon`;
    }
    for (const fact of ctx.model.pipelines) {
      const was = this.before?.pipelines.get(fact.key);
      const live = was?.state === 'running' || was?.state === 'backoff';
      if (!fact.supervised || !live || fact.ackWrite > durable || fact.stopAtMs !== null) continue;
      if (!expectedWs.has(fact.wsId)) continue;
      const count = attempts.get(fact.key) ?? 0;
      ctx.cover('relaunched pipelines');
      if (count !== 1 || !ctx.sup.getPipeline(fact.key).ok) {
        return (
          `supervised pipeline ${fact.key} was live and persisted before the crash, ` +
          `relaunch attempted ${count} time(s) after restore` +
          (ctx.sup.getPipeline(fact.key).ok ? '' : ', and the daemon no longer lists it')
        );
      }
    }
    return null;
  }
}

/** Index of the last successful snapshot write (acks at an index ≤ this are durable). */
function lastOkWriteIndex(ctx: CheckContext): number {
  const writes = ctx.world.store.writes;
  for (let i = writes.length - 1; i >= 0; i--) if (writes[i]?.ok) return i;
  return -1;
}
