/**
 * /metrics of a real daemon, parsed whole by a Prometheus text-format parser: every family
 * parses, label values are bounded (labels of workspaces and pipelines, edge indexes; no
 * ids, pids or paths), per-workspace RSS/CPU and the daemon's process metrics are there,
 * and two runs of one pipeline share their flow series.
 */

import { jest } from '@jest/globals';
import parse from 'parse-prometheus-text-format';
import { Harness, harnessSkipReason, waitFor } from '../../testing/harness.js';
import { requestJson } from './client.js';

const why = harnessSkipReason();
const maybe = why ? describe.skip : describe;
if (why) console.warn(`${import.meta.url.split('/').pop()}: skipped: ${why}`);
jest.setTimeout(60_000);

const ulid = /^[0-9A-HJKMNP-TV-Z]{26}$/;

maybe(`/metrics of a real daemon${why ? ` (skipped: ${why})` : ''}`, () => {
  let h: Harness;
  const get = async (path: string) => (await requestJson<string>(h.socketPath, 'GET', path)).body;
  const post = (path: string, body: unknown) => requestJson(h.socketPath, 'POST', path, body);

  beforeAll(async () => {
    h = new Harness();
    await h.startDaemon();
    await post('/v1/workspaces', { toml: 'label = "met"\n' });
    const sleeper = { exec: '/bin/sleep', argv: ['60'], envp: [], label: 'nap' };
    await post('/v1/workspaces/met/commands', sleeper);
    const source =
      'label = "pipe"\nworkspace = "met"\n[[nodes]]\nlabel = "a"\n' +
      'payload.Native = { exec = "/bin/sh", argv = ["-c", "echo hi; exec sleep 60"], ' +
      'envp = [] }\n' +
      '[[nodes]]\nlabel = "b"\npayload.Native = { exec = "/bin/cat", argv = [], envp = [] }\n' +
      '[[edges]]\nfrom = 0\nfrom_output = "stdout"\nto = 1\nto_input = "stdin"\n';
    await post('/v1/pipelines', { source, tap: true });
    await post('/v1/pipelines', { source, tap: true });
    await waitFor(
      'two flows',
      async () => JSON.parse(JSON.stringify(await get('/v1/flows'))).length === 2,
    );
  });
  afterAll(async () => {
    await post('/v1/workspaces/met/stop', { graceMs: 0 });
    await h?.close();
  });

  it('parses whole, with bounded labels and the expected families', async () => {
    const text = await get('/metrics');
    const families = parse(text);
    const byName = new Map(families.map((f) => [f.name, f]));
    const headers = text.split('\n').filter((l) => l.startsWith('# TYPE ')).length;
    expect(families).toHaveLength(headers);
    for (const f of families) {
      for (const m of f.metrics) {
        for (const [k, v] of Object.entries(m.labels ?? {})) {
          expect({ family: f.name, k, v, bounded: !ulid.test(v) && !v.includes('/') }).toEqual({
            family: f.name,
            k,
            v,
            bounded: true,
          });
        }
        // A summary has quantiles, a count and a sum instead of one value.
        const s = m as { value?: string; count?: string; sum?: string; quantiles?: object };
        const values = [s.value, s.count, s.sum, ...Object.values(s.quantiles ?? {})];
        const present = values.filter((v) => v !== undefined);
        expect(present.length).toBeGreaterThan(0);
        for (const v of present)
          expect({ family: f.name, v: Number.isFinite(Number(v)) }).toEqual({
            family: f.name,
            v: true,
          });
      }
    }
    const rss = byName.get('shipote_workspace_resident_memory_bytes');
    expect(rss?.metrics).toEqual([{ labels: { workspace: 'met' }, value: expect.any(String) }]);
    expect(Number(rss?.metrics[0]?.value)).toBeGreaterThan(0);
    expect(byName.get('shipote_workspace_cpu_seconds_total')?.type).toBe('COUNTER');
    const flows = byName.get('shipote_flow_bytes_total')?.metrics ?? [];
    expect(flows.map((m) => m.labels)).toEqual([{ pipeline: 'pipe', edge: '0' }]);
    const own = (name: string) => Number(byName.get(name)?.metrics[0]?.value);
    expect(own('process_resident_memory_bytes')).toBeGreaterThan(10 * 1024 * 1024);
    expect(own('process_open_fds')).toBeGreaterThan(2);
    expect(own('process_cpu_seconds_total')).toBeGreaterThan(0);
    const startedS = own('process_start_time_seconds');
    expect(Math.abs(startedS - Date.now() / 1000)).toBeLessThan(600);
  });
});
