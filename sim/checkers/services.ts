/**
 * Services checker: no acknowledged command is lost silently across a daemon crash. After
 * the restart, every supervised command whose run was acknowledged and persisted, in a
 * workspace that comes back, and that was live (not stopped for good) is listed again with
 * the same id and label and relaunched at most once by the restore (none while it waits
 * for its dependencies); every such one-shot that was alive is reported `lost`: listed so,
 * or (evicted at once by the bound on dead records) named by a `lost` event — unless the
 * daemon had begun its own shutdown, which ends one-shots on purpose.
 */

import type { CommandView } from '../../core/engine/api.js';
import { type CheckContext, type Checker, operatorRestartSince } from './types.js';
import { viewsOf } from './views.js';

const READY_SLACK_MS = 5;

/** What the restores ask of the event log, read once as it grows (events are only appended). */
interface Seen {
  cursor: number;
  /** Daemons that logged their own shutdown. */
  shutdownGens: Set<number>;
  /** `gen/cmd` of each `lost` event. */
  lost: Set<string>;
}

const LIVE_STATES = new Set(['waiting', 'starting', 'running', 'backoff', 'crash-loop']);

export class ServicesChecker implements Checker {
  readonly name = 'services' as const;
  private before = new Map<string, CommandView>();
  private workspacesBefore = new Set<string>();
  /** The dead daemon had begun its own shutdown: it ended its one-shots on purpose. */
  private shuttingDown = false;
  private readonly seen: Seen = { cursor: 0, shutdownGens: new Set(), lost: new Set() };

  /** A start-up that has not sent READY=1 within readyTimeoutMs is killed (a failure). */
  check(ctx: CheckContext): string | null {
    for (const p of ctx.world.kernel.live) {
      if (p.rootPid !== p.pid || p.gen !== ctx.gen || p.readyAtMs !== null) continue;
      const fact = ctx.model.keys.get(p.key);
      if (fact?.kind !== 'command' || fact.readyTimeoutMs === 0) continue;
      if (ctx.model.stopOf(fact, ctx.gen) !== null) continue;
      if (viewsOf(ctx).workspace(fact.wsId)?.state !== 'running') continue;
      const spawnSeq = ctx.timeline.incarnationOf(p.pid)?.seq ?? 0;
      if (operatorRestartSince(fact, spawnSeq)) continue;
      if (ctx.nowMs > p.startMs + fact.readyTimeoutMs + READY_SLACK_MS) {
        return (
          `command ${p.key} pid ${p.pid}: no READY=1 since t=${p.startMs} ` +
          `(ready_timeout_ms ${fact.readyTimeoutMs}), still alive at t=${ctx.nowMs}`
        );
      }
      ctx.cover('ready timeouts watched');
    }
    return null;
  }

  beforeRestore(ctx: CheckContext): void {
    this.before = new Map();
    this.workspacesBefore = new Set();
    this.shuttingDown = readEvents(ctx, this.seen).shutdownGens.has(ctx.gen);
    for (const ws of ctx.sup.listWorkspaces()) {
      if (ws.state === 'running') this.workspacesBefore.add(ws.id);
      const list = ctx.sup.listCommands(ws.id);
      if (list.ok) for (const c of list.value) this.before.set(c.id, c);
    }
  }

  afterRestore(ctx: CheckContext): string | null {
    const durable = lastOkWriteIndex(ctx);
    const spawns = new Map<string, number>();
    for (const s of ctx.world.kernel.spawns) {
      if (s.gen === ctx.gen && !s.group) spawns.set(s.key, (spawns.get(s.key) ?? 0) + 1);
    }
    for (const fact of ctx.model.commands) {
      const was = this.before.get(fact.key);
      const ws = ctx.model.wsById.get(fact.wsId);
      if (!was || !ws || fact.ackWrite > durable || ws.ackWrite > durable) continue;
      if (fact.stopAtMs !== null || ws.stopAtMs !== null) continue;
      if (!this.workspacesBefore.has(ws.id) || !ctx.sup.getWorkspace(ws.id).ok) continue;
      const now = ctx.sup.getCommand(ws.id, fact.key);
      const found = now.ok ? now.value : null;
      if (fact.supervised && LIVE_STATES.has(was.state)) {
        ctx.cover('restored services');
        if (found?.label !== was.label || found.state === 'lost') {
          const got = found ? `${found.label} (${found.state})` : 'missing';
          return `service ${fact.key} (${was.label}) was live and persisted, but is ${got}`;
        }
        const count = spawns.get(fact.key) ?? 0;
        if (count > 1) return `service ${fact.key} relaunched ${count} times by the restore`;
      } else if (!fact.supervised && was.alive && !this.shuttingDown) {
        ctx.cover('lost one-shots reported');
        const reported = found === null && lostEvent(ctx, this.seen, fact.key);
        if (found?.state !== 'lost' && !reported) {
          const got = found ? `listed as ${found.state}` : 'missing';
          return `one-shot ${fact.key} was running when the daemon died but is ${got}`;
        }
      }
    }
    return null;
  }
}

/** Reads the events appended since the last call into `seen`. */
function readEvents(ctx: CheckContext, seen: Seen): Seen {
  const events = ctx.world.eventLog.events;
  for (; seen.cursor < events.length; seen.cursor++) {
    const e = events[seen.cursor]!;
    if (e.ev === 'daemon-shutdown') seen.shutdownGens.add(e.gen);
    else if (e.ev === 'lost' && typeof e.fields.cmd === 'string')
      seen.lost.add(`${e.gen}/${e.fields.cmd}`);
  }
  return seen;
}

/** Daemon `ctx.gen` logged a `lost` event for command `key`. */
function lostEvent(ctx: CheckContext, seen: Seen, key: string): boolean {
  return readEvents(ctx, seen).lost.has(`${ctx.gen}/${key}`);
}

/** Index of the last successful snapshot write (acks at an index ≤ this are durable). */
function lastOkWriteIndex(ctx: CheckContext): number {
  const writes = ctx.world.store.writes;
  for (let i = writes.length - 1; i >= 0; i--) if (writes[i]?.ok) return i;
  return -1;
}
