/**
 * `doctor`: caps, reachability (answering is the proof), snapshot health, and the recent
 * crash loops, quota kills and give-ups found in the event log, each with the command
 * that fixes it.
 */

import type { LifecycleEvent } from '../../core/ports.js';
import type { ControlDeps, DoctorFinding, DoctorView } from './types.js';
import { workerFindings } from './workers-health.js';

export const doctorHistoryMax = 1000;

function field(event: LifecycleEvent, ...names: string[]): string {
  for (const name of names) {
    const v = event.fields[name];
    if (v !== undefined && v !== '') return String(v);
  }
  return '<id>';
}

/** Maps one event to a finding, or null when it needs no operator. */
export function findingFor(event: LifecycleEvent): DoctorFinding | null {
  const ev = event.ev.toLowerCase();
  const ws = field(event, 'ws', 'workspace');
  if (ev.includes('crash-loop') || ev.includes('crash_loop') || ev.includes('crashloop')) {
    const pipeline = event.fields.pipeline ?? event.fields.pl;
    if (pipeline !== undefined) {
      return {
        what: `pipeline ${pipeline} in crash-loop`,
        fix: `shipote pipeline stop ${pipeline}  # then run it again`,
        wallMs: event.wallMs,
      };
    }
    const cmd = field(event, 'cmd', 'command');
    const what = `command ${cmd} of workspace ${ws} in crash-loop`;
    return { what, fix: `shipote restart ${ws} ${cmd}`, wallMs: event.wallMs };
  }
  if (ev.includes('give') || ev.includes('gave')) {
    const cmd = field(event, 'cmd', 'pipeline', 'pl');
    const what = `${cmd} gave up after restart_max restarts`;
    return { what, fix: `shipote restart ${ws} ${cmd}`, wallMs: event.wallMs };
  }
  if (ev.includes('quota') && (ev.includes('kill') || event.fields.action === 'kill')) {
    const what = `workspace ${ws} was killed for exceeding its quota`;
    return { what, fix: `shipote workspace quota ${ws}`, wallMs: event.wallMs };
  }
  return null;
}

export function buildDoctor(deps: ControlDeps): DoctorView {
  const restore = deps.restoreReport();
  const findings: DoctorFinding[] = [];
  for (const event of deps.history(doctorHistoryMax)) {
    const f = findingFor(event);
    if (f) findings.push(f);
  }
  const asidePath = restore?.skippedAsidePath ?? deps.statePath;
  for (const entry of restore?.skipped ?? []) {
    findings.push({
      what: `snapshot entry ${entry.path} was set aside: ${entry.message}`,
      fix: `inspect ${asidePath} (every other entry was restored)`,
      wallMs: 0,
    });
  }
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
    findings: [...findings.slice(-20), ...workerFindings(deps.supervisor)],
  };
}
