/** Spec texts the control server's and the CLI's tests both send (to the fake supervisor). */

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
