import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KernelEvent } from '../../core/ports.js';
import { harness, pollUntil, req } from '../../testing/linux.js';
import { createLinuxKernel } from './kernel.js';

const h = harness();
const k = h.kernel;
afterAll(() => h.close());

describe('the log store on the capture path', () => {
  it('a restart appends to the file the old pipe still drains into: no byte lost', async () => {
    // The first run leaves a child holding its stdout; the second run starts at once.
    const first = k.spawn('same', req('/bin/sh', ['-c', 'echo first; (sleep 0.3; echo late) &']));
    if (!first.ok) throw new Error(first.error.message);
    await h.exitOf(first.value.pid);
    const second = k.spawn('same', req('/bin/sh', ['-c', 'echo second']));
    if (!second.ok) throw new Error(second.error.message);
    await h.exitOf(second.value.pid);
    const lines = await pollUntil(() => {
      const t = h.text('same');
      return t.split('\n').length === 4 ? t.split('\n') : undefined;
    }, 'three lines');
    expect(lines.slice(0, 3).sort()).toEqual(['first', 'late', 'second']);
    expect(lines[0]).toBe('first');
    const file = readFileSync(join(k.logDir('same'), 'stdout.log'), 'utf8');
    expect(file).toBe(h.text('same'));
  });

  it('keeps a stream of a dead command readable after release', async () => {
    const r = k.spawn('gone', req('/bin/echo', ['bye']));
    if (!r.ok) throw new Error(r.error.message);
    await h.exitOf(r.value.pid);
    await pollUntil(() => (h.text('gone') === 'bye\n' ? true : undefined), 'the line');
    k.release('gone');
    expect(h.text('gone')).toBe('bye\n');
    expect(k.logBytes('gone')).toEqual({ stdout: 4, stderr: 0 });
  });
});

describe('a log directory that cannot be written', () => {
  it('drains the output: the command is neither blocked nor killed by SIGPIPE', async () => {
    const runtimeDir = mkdtempSync(join(tmpdir(), 'shipote-logs-'));
    const kernel = createLinuxKernel({ runtimeDir, logDir: '/dev/null/logs' });
    const exits: KernelEvent[] = [];
    kernel.onEvent((e) => exits.push(e));
    try {
      const r = kernel.spawn('nowhere', req('/bin/sh', ['-c', 'seq 1 200000; echo done >&2']));
      if (!r.ok) throw new Error(r.error.message);
      const exit = await pollUntil(
        () => exits.find((e) => e.type === 'exit' && e.pid === r.value.pid),
        'the exit',
      );
      expect(exit).toMatchObject({ code: 0, signal: null });
    } finally {
      kernel.close();
      rmSync(runtimeDir, { recursive: true, force: true });
    }
  });
});
