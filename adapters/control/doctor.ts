/**
 * `doctor`: caps, reachability (answering is the proof), snapshot health, and the recent
 * crash loops, quota kills and give-ups found in the event log, each with a command that
 * fixes it as printed (a test runs every one). A finding is listed only while its cause
 * stands: the command or pipeline is still in crash-loop / gave-up, the killed workspace
 * has not been created again. One finding per entity, the newest.
 */

import type { RestoreReport, Supervisor } from '../../core/engine/api.js';
import type { LifecycleEvent } from '../../core/ports.js';
import type { ControlDeps, DoctorFinding, DoctorView } from './types.js';
import { workerFindings } from './workers-health.js';

export const doctorHistoryMax = 1000;
const findingsMax = 20;

/** A finding, what it is about (for de-duplication) and whether its cause still stands. */
export interface Diagnosis {
  finding: DoctorFinding;
  key: string;
  stands(supervisor: Supervisor): boolean;
}

function text(event: LifecycleEvent, ...names: string[]): string | undefined {
  for (const name of names) {
    const v = event.fields[name];
    if (v !== undefined && v !== '') return String(v);
  }
  return undefined;
}

const STUCK = new Set(['crash-loop', 'gave-up']);

/** Maps one event to a diagnosis, or null when it needs no operator. */
export function diagnose(event: LifecycleEvent): Diagnosis | null {
  const ev = event.ev.toLowerCase();
  const wallMs = event.wallMs;
  const crashLoop = ev === 'crash-loop';
  if (!crashLoop && ev !== 'give-up' && ev !== 'quota-kill') return null;
  const why = crashLoop ? 'is in crash-loop' : 'gave up after restart_max restarts';
  const pipeline = text(event, 'pipeline', 'pl');
  const ws = text(event, 'ws', 'workspace');
  if (ev === 'quota-kill') return quotaKill(event, ws);
  if (pipeline !== undefined) {
    const name = text(event, 'label') ?? pipeline;
    return {
      key: `pipeline ${pipeline}`,
      finding: {
        what: `pipeline ${name} ${why}`,
        fix: `shipote pipeline restart ${pipeline}`,
        wallMs,
      },
      stands: (sup) => {
        const view = sup.getPipeline(pipeline);
        return view.ok && STUCK.has(view.value.state);
      },
    };
  }
  const cmd = text(event, 'cmd', 'command');
  if (ws === undefined || cmd === undefined) return null;
  const name = text(event, 'label') ?? cmd;
  return {
    key: `command ${ws} ${cmd}`,
    finding: {
      what: `command ${name} of workspace ${ws} ${why}`,
      fix: `shipote restart ${ws} ${cmd}`,
      wallMs,
    },
    stands: (sup) => {
      const view = sup.getCommand(ws, cmd);
      return view.ok && STUCK.has(view.value.state);
    },
  };
}

/**
 * A workspace stopped for its quota is gone: the fix creates it again under its label with
 * the breached limits doubled and the same `kill` enforcement (other settings default; edit
 * the spec before running it if the workspace had more).
 */
function quotaKill(event: LifecycleEvent, ws: string | undefined): Diagnosis | null {
  const label = text(event, 'label') ?? ws;
  if (label === undefined) return null;
  const breach = text(event, 'breach') ?? '';
  const lines = raisedSpec(label, breach).trimEnd().split('\n').map(shellQuote);
  const fix = `printf '%s\\n' ${lines.join(' ')} | shipote workspace create /dev/stdin`;
  const detail = breach === '' ? '' : ` (${breach})`;
  const what = `workspace ${label} was killed for exceeding its quota${detail}`;
  return {
    key: `workspace ${label}`,
    finding: { what, fix, wallMs: event.wallMs },
    stands: (sup) => !sup.listWorkspaces().some((w) => w.label === label && w.state === 'running'),
  };
}

/** One shell word, single-quoted. */
export function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

const MIB = 1024 * 1024;

/** Spec text: the label, each breached limit doubled, and kill enforcement of those. */
export function raisedSpec(label: string, breach: string): string {
  const rlimits: string[] = [];
  const enforce: string[] = [];
  const mem = /memory: [\d.]+ MiB > (\d+)\.(\d\d) MiB limit/.exec(breach);
  if (mem) {
    const centi = Number(mem[1]) * 100 + Number(mem[2]);
    rlimits.push(`mem_bytes = ${Math.ceil((centi * MIB) / 100) * 2}`);
    enforce.push('mem = "kill"');
  }
  const nproc = /nproc: \d+ alive > (\d+) limit/.exec(breach);
  if (nproc) {
    rlimits.push(`nproc = ${Number(nproc[1]) * 2}`);
    enforce.push('nproc = "kill"');
  }
  const lines = [`label = ${JSON.stringify(label)}`];
  if (rlimits.length > 0) lines.push('[soma.rlimits]', ...rlimits);
  if (enforce.length > 0) lines.push('[quota_enforce]', ...enforce);
  return `${lines.join('\n')}\n`;
}

/** Findings whose cause still stands, one per entity (the newest), newest last. */
export function standingFindings(events: LifecycleEvent[], sup: Supervisor): DoctorFinding[] {
  const newest = new Map<string, Diagnosis>();
  for (const event of events) {
    const d = diagnose(event);
    if (d === null) continue;
    newest.delete(d.key); // Re-inserted: Map order follows the newest occurrence.
    newest.set(d.key, d);
  }
  const standing = [...newest.values()].filter((d) => d.stands(sup)).map((d) => d.finding);
  return standing.slice(-findingsMax);
}

/** Snapshot entries that restore skipped: the fix shows the file that holds them. */
function setAsideFindings(restore: RestoreReport | null, statePath: string): DoctorFinding[] {
  const asidePath = restore?.skippedAsidePath ?? statePath;
  return (restore?.skipped ?? []).map((entry) => ({
    what: `snapshot entry ${entry.path} was set aside: ${entry.message}`,
    fix: `cat ${shellQuote(asidePath)}  # the entry as it was; every other entry was restored`,
    wallMs: 0,
  }));
}

export function buildDoctor(deps: ControlDeps): DoctorView {
  const restore = deps.restoreReport();
  const snapshotOk = restore === null || restore.outcome !== 'set-aside';
  return {
    daemon: {
      reachable: true,
      pid: process.pid,
      socket: deps.socketPath,
      uptimeMs: deps.nowMs() - deps.startedAtMs,
    },
    caps: deps.caps(),
    snapshot: {
      path: deps.statePath,
      restore,
      ok: snapshotOk,
      message: restore?.message ?? 'not restored yet',
    },
    findings: [
      ...standingFindings(deps.history(doctorHistoryMax), deps.supervisor),
      ...setAsideFindings(restore, deps.statePath),
      ...workerFindings(deps.supervisor),
    ],
  };
}
