import {
  closeSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KernelEvent } from '../../core/ports.js';
import { harness, pollUntil, req } from '../../testing/linux.js';
import { isSysError, type NativeAddon } from './addon.js';
import { createLinuxKernel } from './kernel.js';
import { LogStore } from './logs.js';

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

describe('log files made at the first byte, by the writer thread', () => {
  const waitThen = (go: string, then: string) =>
    req('/bin/sh', ['-c', `while [ ! -e ${go} ]; do sleep 0.02; done; ${then}`]);

  it('a silent stream has no file; meta.json comes with the first file, stderr first', async () => {
    const go = join(h.runtimeDir, 'go-meta');
    const r = k.spawn('late', waitThen(go, 'echo oops >&2'));
    if (!r.ok) throw new Error(r.error.message);
    k.logMeta('late', '{"key":"late"}\n');
    expect(existsSync(k.logDir('late'))).toBe(false);
    expect(k.logBytes('late')).toEqual({ stdout: 0, stderr: 0 });
    writeFileSync(go, '');
    await h.exitOf(r.value.pid);
    await pollUntil(() => (k.logBytes('late').stderr === 5 ? true : undefined), 'stderr');
    expect(readFileSync(join(k.logDir('late'), 'meta.json'), 'utf8')).toBe('{"key":"late"}\n');
    expect(readdirSync(k.logDir('late')).sort()).toEqual(['meta.json', 'stderr.idx', 'stderr.log']);
  });

  it('meta.json of a key that printed before it, or never, and of no key at all', async () => {
    const r = k.spawn('early', req('/bin/echo', ['hi']));
    if (!r.ok) throw new Error(r.error.message);
    await h.exitOf(r.value.pid);
    await pollUntil(() => (k.logBytes('early').stdout === 3 ? true : undefined), 'stdout');
    k.logMeta('early', 'e\n');
    expect(readFileSync(join(k.logDir('early'), 'meta.json'), 'utf8')).toBe('e\n');
    const quiet = k.spawn('quiet', req('/bin/true', []));
    if (!quiet.ok) throw new Error(quiet.error.message);
    await h.exitOf(quiet.value.pid);
    await new Promise<void>((fire) => k.whenCaptured('quiet', fire));
    k.logMeta('quiet', 'q\n');
    k.logMeta('never', 'n\n');
    expect(existsSync(k.logDir('quiet'))).toBe(false);
    expect(existsSync(k.logDir('never'))).toBe(false);
  });

  it("a restarted stream's offset carries on from its files before its next byte", async () => {
    const first = k.spawn('again', req('/bin/echo', ['abc']));
    if (!first.ok) throw new Error(first.error.message);
    await h.exitOf(first.value.pid);
    await new Promise<void>((fire) => k.whenCaptured('again', fire));
    const go = join(h.runtimeDir, 'go-again');
    const second = k.spawn('again', waitThen(go, 'echo de'));
    if (!second.ok) throw new Error(second.error.message);
    expect(k.logBytes('again').stdout).toBe(4);
    writeFileSync(go, '');
    await h.exitOf(second.value.pid);
    await pollUntil(() => (k.logBytes('again').stdout === 7 ? true : undefined), 'stdout');
    expect(h.text('again')).toBe('abc\nde\n');
  });
});

describe("a stream's offset while its EOF note is on its way", () => {
  it('is where the pipe began (the mark a task takes right after its spawn)', async () => {
    const native = (k as unknown as { native: NativeAddon }).native;
    const store = new LogStore(native, join(h.runtimeDir, 'marks'));
    const feed = (text: string): number => {
      const p = native.pipe(0);
      if (isSysError(p)) throw new Error(`pipe: ${p.syscall} errno ${p.errno}`);
      writeSync(p[1], text);
      closeSync(p[1]);
      store.captureFd('m', 'stdout', p[0]);
      const ids = (store as unknown as { byId: Map<number, string> }).byId;
      return Math.max(...ids.keys());
    };
    feed('abc');
    await new Promise<void>((fire) => store.whenDrained('m', fire));
    expect(store.bytes('m').stdout).toBe(3);
    const id = feed('de');
    // The writer thread drains the pipe and drops it; the note comes in a later tick.
    const until = Date.now() + 10_000;
    while (native.logBytes(id) !== -1 && Date.now() < until) {}
    expect(native.logBytes(id)).toBe(-1);
    expect(store.bytes('m').stdout).toBe(3);
    await new Promise<void>((fire) => store.whenDrained('m', fire));
    expect(store.bytes('m').stdout).toBe(5);
    store.close();
  });
});

describe('byte counts of keys whose streams ended', () => {
  it('come from memory for the most recent keys, and from the files past the bound', async () => {
    const native = (k as unknown as { native: NativeAddon }).native;
    const dir = join(h.runtimeDir, 'idle');
    const store = new LogStore(native, dir, undefined, 2);
    const feed = async (key: string, text: string) => {
      const p = native.pipe(0);
      if (isSysError(p)) throw new Error(`pipe: ${p.syscall} errno ${p.errno}`);
      writeSync(p[1], text);
      closeSync(p[1]);
      store.captureFd(key, 'stdout', p[0]);
      await new Promise<void>((fire) => store.whenDrained(key, fire));
    };
    await feed('a', 'aaa');
    await feed('b', 'bb');
    expect(store.bytes('a').stdout).toBe(3);
    rmSync(dir, { recursive: true, force: true }); // the files go: memory still knows
    expect(store.bytes('a').stdout).toBe(3);
    expect(store.bytes('b').stdout).toBe(2);
    await feed('c', 'c'); // a third idle key: the oldest (a) is dropped, read from files
    expect(store.bytes('a').stdout).toBe(0);
    expect(store.bytes('b').stdout).toBe(2);
    expect(store.bytes('c').stdout).toBe(1);
    store.close();
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
