/**
 * Namespaces, observed from inside a command shipote starts: each row enables one kind,
 * the command (e2e/fixtures/ns-report.sh) reports what it sees, and the test compares it
 * with the daemon's own namespaces and with what the container still sees afterwards, so
 * a namespace that was not made (or leaks) fails the row.
 */

import { cgroupVersion, shipoteSkipReason } from './harness/env.js';
import type { Shipote } from './harness/shipote.js';
import { type WorkspaceFields, workspaceToml } from './harness/specs.js';
import { type SuiteContext, useShipoteContainer } from './harness/suite.js';

const why = shipoteSkipReason();
const test = why ? it.skip : it;
const skipNote = why ? ` (skipped: ${why})` : '';
const cg = `[cgroup ${cgroupVersion}]`;
const report = '/src/e2e/fixtures/ns-report.sh';

type Report = Record<string, string>;

interface Row {
  kind: string;
  namespaces: WorkspaceFields['namespaces'];
  /** Shell run before the report (to change something the namespace must contain). */
  before: string;
  check(r: Report, daemon: Report, s: SuiteContext): Promise<void>;
}

const rows: Row[] = [
  {
    kind: 'pid (with mount)',
    namespaces: { pid: true, mount: true },
    before: '',
    async check(r, daemon) {
      expect(r.pid).toBe('1');
      expect(r.ns_pid).not.toBe(daemon.ns_pid);
      // Its own /proc: only this namespace's few processes, and pid 1 is the command.
      expect(Number(r.procs)).toBeLessThanOrEqual(4);
      expect(r.proc1).toContain(report);
    },
  },
  {
    kind: 'user',
    namespaces: { user: true },
    before: '',
    async check(r, daemon) {
      expect(r.uid).toBe('0');
      expect(r.ns_user).not.toBe(daemon.ns_user);
      // The daemon's uid (0 here) mapped to 0, one id wide: not the initial full-range map.
      expect(r.uid_map).toBe(`0 ${daemon.uid} 1`);
    },
  },
  {
    kind: 'uts',
    namespaces: { uts: true },
    before: 'hostname shipote-uts-e2e && ',
    async check(r, daemon, s) {
      expect(r.hostname).toBe('shipote-uts-e2e');
      expect(r.ns_uts).not.toBe(daemon.ns_uts);
      expect((await s.c.shOk('hostname')).trim()).toBe(daemon.hostname);
    },
  },
  {
    kind: 'net',
    namespaces: { net: true },
    before: '',
    async check(r, daemon) {
      expect(daemon.links).toContain('e2e-veth0');
      expect(r.links).toBe('lo ');
      expect(r.ns_net).not.toBe(daemon.ns_net);
    },
  },
  {
    kind: 'mount',
    namespaces: { mount: true },
    before: 'mkdir -p /tmp/e2e-mnt && mount -t tmpfs e2e-mnt-probe /tmp/e2e-mnt && ',
    async check(r, daemon, s) {
      expect(r.ns_mnt).not.toBe(daemon.ns_mnt);
      expect(await s.c.shOk('cat /proc/self/mounts')).not.toContain('e2e-mnt-probe');
    },
  },
];

function parseReport(text: string): Report {
  const out: Report = {};
  for (const line of text.split('\n')) {
    const at = line.indexOf('=');
    if (at > 0) out[line.slice(0, at)] = line.slice(at + 1);
  }
  return out;
}

/** The same report about the daemon process itself (its namespaces, as the container sees). */
async function daemonReport(s: SuiteContext, pid: number): Promise<Report> {
  const ns = ['pid', 'user', 'uts', 'net', 'mnt'].map(
    (k) => `echo ns_${k}=$(readlink /proc/${pid}/ns/${k})`,
  );
  const script = [
    ...ns,
    `echo uid=$(awk '/^Uid:/ { print $2 }' /proc/${pid}/status)`,
    'echo hostname=$(hostname)',
    `echo "links=$(ip -o link show | cut -d: -f2 | cut -d@ -f1 | tr -d ' ' | sort | tr '\\n' ' ')"`,
  ].join('\n');
  return parseReport(await s.c.shOk(script));
}

async function runReport(sh: Shipote, ns: Row['namespaces'], before: string, label: string) {
  const ws = await sh.createWorkspace(workspaceToml({ label, namespaces: ns }));
  const cmd = await sh.run(ws.id, ['/bin/sh', '-c', `${before}exec /bin/sh ${report}`]);
  const done = await sh.waitExit(ws.id, cmd.id);
  const stdout = await sh.logs(ws.id, cmd.id);
  expect({ exit: done.exit?.status, stderr: await sh.logs(ws.id, cmd.id, 'stderr') }).toEqual({
    exit: 0,
    stderr: '',
  });
  return parseReport(stdout);
}

describe(`namespaces observed from inside a command ${cg}${skipNote}`, () => {
  const s = useShipoteContainer(why);

  beforeAll(async () => {
    if (why) return;
    // A second interface, so "only lo" inside a net namespace can tell it from the container.
    await s.c.shOk('ip link add e2e-veth0 type veth peer name e2e-veth1');
  }, 30_000);

  test.each(rows.map((row) => [row.kind, row] as const))(
    `%s namespace ${cg}: the command sees its own, and nothing leaks to the container`,
    async (kind, row) => {
      const sh = s.shipote(`ns-${kind.split(' ')[0]}`);
      const pid = s.track(await sh.startDaemon());
      const daemon = await daemonReport(s, pid);
      const r = await runReport(sh, row.namespaces, row.before, `ns-${kind.split(' ')[0]}`);
      await row.check(r, daemon, s);
    },
    60_000,
  );

  test(`user namespace ${cg}: an unprivileged daemon's uid is 0 inside, pid 1`, async () => {
    const sh = s.shipote('ns-nobody', { user: 'nobody' });
    const pid = s.track(await sh.startDaemon());
    const daemon = await daemonReport(s, pid);
    expect(daemon.uid).toBe('65534');
    const ns = { user: true, pid: true, mount: true };
    const r = await runReport(sh, ns, '', 'ns-nobody');
    expect(r).toMatchObject({ uid: '0', uid_map: '0 65534 1', pid: '1' });
    expect(r.proc1).toContain(report);
  }, 60_000);
});
