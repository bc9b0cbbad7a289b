import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { selfCommand } from './autostart.js';

const bin = join(fileURLToPath(new URL('../..', import.meta.url)), 'bin');

describe('the command an auto-started daemon runs', () => {
  it('is bin/shipote.cjs when the CLI ran as bin/shipote.mjs (no ES module loader kept)', () => {
    const self = selfCommand(join(bin, 'shipote.mjs'));
    expect(self.file).toBe(process.execPath);
    expect(self.args.at(-1)).toBe(join(bin, 'shipote.cjs'));
  });

  it('is the entry itself otherwise (the .cjs, a compiled main, tsx sources)', () => {
    for (const entry of [
      join(bin, 'shipote.cjs'),
      '/x/adapters/cli/main.ts',
      '/gone/shipote.mjs',
    ]) {
      expect(selfCommand(entry).args.at(-1)).toBe(entry);
    }
  });
});
