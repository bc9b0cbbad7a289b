/** Spec texts the control server's and the CLI's tests both send (to the fake supervisor). */

import type { LogSource } from './types.js';

/** A workspace labelled "strict" with a process limit. */
export const STRICT_WORKSPACE_TOML = 'label = "strict"\n[soma.rlimits]\nnproc = 2\n';

/** The the contract echo → cat pipeline, its workspace the `${WS}` variable, no discern table. */
export const ECHO_CAT_PIPELINE_TOML = `label = "echo-cat"
workspace = "\${WS}"
[[nodes]]
label = "producer"
payload.Native = { exec = "/bin/echo", argv = ['{"hello": 1}'], envp = [] }
[[nodes]]
label = "consumer"
payload.Native = { exec = "/bin/cat", argv = [], envp = [] }
[[edges]]
from = 0
from_output = "stdout"
to = 1
to_input = "stdin"
`;

/**
 * A LogSource over texts in memory (key → text, `*` for any key): a reader reads
 * `<which>:<text>` (`<text>` without `withWhich`) from where it is, so text added later
 * comes out on the next read (follow).
 */
export function textLogSource(
  texts: Map<string, string>,
  listeners: Set<() => void>,
  withWhich = true,
): LogSource {
  return {
    open(keys, which, q) {
      let pos = -1;
      const text = (key: string): string => texts.get(key) ?? texts.get('*') ?? '';
      const full = (): string =>
        `${withWhich ? `${which}:` : ''}${keys.map((k) => text(k.key)).join('')}`;
      return {
        next() {
          const t = full();
          if (pos < 0) pos = q.tailBytes === undefined ? 0 : Math.max(0, t.length - q.tailBytes);
          if (pos >= t.length) return null;
          const out = t.slice(pos);
          pos = t.length;
          return Buffer.from(out);
        },
        done: () => false,
      };
    },
    follow(_key, listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
  };
}
