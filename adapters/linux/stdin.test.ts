import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { harness, pollUntil, req } from '../../testing/linux.js';
import { PIPE_BYTES_DEFAULT } from './stdin.js';

const h = harness();
afterAll(() => h.close());

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('stdin from bytes', () => {
  it.each([
    ['empty', 0],
    ['small (a pipe)', 5],
    ['exactly a pipe buffer', PIPE_BYTES_DEFAULT],
    ['larger than a pipe (a temp file)', 3 * PIPE_BYTES_DEFAULT + 17],
  ])('hands the child %s bytes, then EOF', async (_what, size) => {
    const bytes = new Uint8Array(size);
    for (let i = 0; i < size; i++) bytes[i] = (i * 31 + 7) & 0xff;
    const key = `stdin-${size}`;
    const r = h.kernel.spawn(key, req('/bin/sh', ['-c', 'sha256sum -b'], { stdin: bytes }));
    if (!r.ok) throw new Error(r.error.message);
    const exit = await h.exitOf(r.value.pid);
    expect(exit.code).toBe(0);
    // The log writer puts the output on disk a little after the exit.
    const out = await pollUntil(() => h.text(key) || undefined, `output of ${key}`);
    expect(out.split(' ')[0]).toBe(sha(bytes));
  });

  it('leaves no temp file behind', () => {
    expect(readdirSync(h.runtimeDir).filter((f) => f.startsWith('stdin-'))).toEqual([]);
  });

  it('gives /dev/null when no bytes are given', async () => {
    const r = h.kernel.spawn('nostdin', req('/bin/sh', ['-c', 'wc -c']));
    if (!r.ok) throw new Error(r.error.message);
    await h.exitOf(r.value.pid);
    const out = await pollUntil(() => h.text('nostdin') || undefined, 'output of nostdin');
    expect(out.trim()).toBe('0');
  });
});
