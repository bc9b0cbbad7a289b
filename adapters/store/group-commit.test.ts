/**
 * The snapshot store's group commit: a write returns once its text is in a temp file; the
 * fsync runs off the event loop and `durable()` says when the text is on disk. Only the
 * newest text is committed; a failed commit fails the replies it covered.
 */

import { mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFileStore } from './file-store.js';
import { defaultGroupCommitIo, type GroupCommitIo } from './group-commit.js';

let dir: string;
let path: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'shipote-group-'));
  path = join(dir, 'state.json');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** The real io, with each fsync of a temp file held until the test lets it go. */
function gatedIo() {
  let writeTemp: GroupCommitIo['writeTemp'] = () => {
    throw new Error('unset');
  };
  const pending: { fd: number; release: (error?: Error) => void }[] = [];
  const fsyncs: number[] = [];
  /** When set, each directory fsync waits here for release too. */
  const dirs: { held: boolean; pending: (() => void)[] } = { held: false, pending: [] };
  const real = () => defaultGroupCommitIo(writeTemp);
  const io: GroupCommitIo = {
    writeTemp: (text) => writeTemp(text),
    fsyncAsync: (fd) => {
      fsyncs.push(fd);
      return new Promise((resolve, reject) => {
        pending.push({ fd, release: (error) => (error ? reject(error) : resolve()) });
      });
    },
    fsyncDirAsync: (d) =>
      dirs.held
        ? new Promise<void>((resolve) => dirs.pending.push(resolve)).then(() =>
            real().fsyncDirAsync(d),
          )
        : real().fsyncDirAsync(d),
    fsyncDirSync: (d) => real().fsyncDirSync(d),
  };
  const setWriteTemp = (f: GroupCommitIo['writeTemp']) => {
    writeTemp = f;
  };
  return { io, pending, fsyncs, setWriteTemp, dirs };
}

/** A store whose temp files are the real ones, and whose fsyncs wait for release. */
function gatedStore() {
  const gate = gatedIo();
  const store = createFileStore({ path, groupCommit: gate.io });
  let n = 0;
  gate.setWriteTemp((text) => {
    n += 1;
    const temp = join(dir, `.state.json.tmp-test-${n}`);
    writeFileSync(temp, text, { mode: 0o600 });
    return { fd: openSync(temp, 'r+'), temp };
  });
  return { store, gate };
}

const flushTicks = () => new Promise((r) => setImmediate(r));

describe('group commit', () => {
  it('a write returns before its fsync; durable() resolves once it is renamed in', async () => {
    const { store, gate } = gatedStore();
    expect(store.write('one')).toEqual({ ok: true, value: true });
    let done: unknown = 'pending';
    const durable = store.durable().then((r) => {
      done = r;
    });
    await flushTicks();
    expect(done).toBe('pending');
    expect(store.read()).toEqual({ kind: 'empty' }); // not renamed before its fsync
    gate.pending.shift()?.release();
    await durable;
    expect(done).toBeNull();
    expect(readFileSync(path, 'utf8')).toBe('one');
  });

  it('commits only the newest of the texts written during one fsync, for all waiters', async () => {
    const { store, gate } = gatedStore();
    store.write('a');
    const first = store.durable();
    store.write('b');
    const second = store.durable();
    store.write('c');
    const third = store.durable();
    gate.pending.shift()?.release(); // 'a' lands
    await first;
    await flushTicks();
    expect(gate.fsyncs).toHaveLength(2); // 'b' was superseded before its turn: only 'c'
    gate.pending.shift()?.release();
    expect(await second).toBeNull();
    expect(await third).toBeNull();
    expect(readFileSync(path, 'utf8')).toBe('c');
    expect(readdirSync(dir)).toEqual(['state.json']); // no temp file left behind
  });

  it('a failed commit fails its waiters; the next durable() writes the text again', async () => {
    const { store, gate } = gatedStore();
    store.write('x');
    const waiting = store.durable();
    gate.pending
      .shift()
      ?.release(Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' }));
    const failure = await waiting;
    expect(failure).toMatchObject({ port: 'Store', method: 'write', reason: expect.any(String) });
    expect(failure?.message).toMatch(/EIO/);
    expect(store.read()).toEqual({ kind: 'empty' });
    const retry = store.durable();
    await flushTicks();
    gate.pending.shift()?.release();
    expect(await retry).toBeNull();
    expect(readFileSync(path, 'utf8')).toBe('x');
  });

  it('a write that cannot be staged fails at once (the engine aborts its step)', async () => {
    const { store, gate } = gatedStore();
    gate.setWriteTemp(() => {
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    });
    const r = store.write('y');
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error.reason).toBe('LimitExceeded');
    expect(await store.durable()).toBeNull(); // nothing was staged: nothing to wait for
  });

  it('settleSync lands the newest text now; the fsync still in flight is dropped', async () => {
    const { store, gate } = gatedStore();
    store.write('first');
    store.write('second');
    expect(store.settleSync()).toBeNull();
    expect(readFileSync(path, 'utf8')).toBe('second');
    gate.pending.shift()?.release(); // 'first' finishes its fsync late: never renamed in
    await flushTicks();
    await flushTicks();
    expect(readFileSync(path, 'utf8')).toBe('second');
    expect(readdirSync(dir)).toEqual(['state.json']);
  });

  it('settleSync also lands a text whose fsync is still in the threadpool', async () => {
    const { store, gate } = gatedStore();
    store.write('only');
    expect(store.settleSync()).toBeNull();
    expect(readFileSync(path, 'utf8')).toBe('only');
    gate.pending.shift()?.release();
    expect(await store.durable()).toBeNull();
    await flushTicks();
    expect(readFileSync(path, 'utf8')).toBe('only');
    expect(readdirSync(dir)).toEqual(['state.json']);
  });

  it('settleSync lands a text renamed in whose directory fsync is still pending', async () => {
    const { store, gate } = gatedStore();
    gate.dirs.held = true;
    store.write('only');
    gate.pending.shift()?.release(); // the file's fsync returns; rename; the dir's fsync waits
    await flushTicks();
    expect(gate.dirs.pending).toHaveLength(1);
    expect(store.settleSync()).toBeNull();
    expect(readFileSync(path, 'utf8')).toBe('only');
    gate.dirs.pending.shift()?.();
    expect(await store.durable()).toBeNull();
    expect(readdirSync(dir)).toEqual(['state.json']);
  });

  it('the real store writes through when no group commit is asked for', async () => {
    const store = createFileStore({ path });
    store.write('sync');
    expect(readFileSync(path, 'utf8')).toBe('sync');
    expect(await store.durable()).toBeNull();
  });

  it('the real group commit store lands the text with the real fsync', async () => {
    const store = createFileStore({ path, groupCommit: true });
    store.write('real');
    expect(await store.durable()).toBeNull();
    expect(readFileSync(path, 'utf8')).toBe('real');
    expect(readdirSync(dir)).toEqual(['state.json']);
  });
});
