/** The TOML examples of the contract, verbatim (`<WS>` kept), shared by the spec tests. */

import type { WorkspaceSpec } from './types.js';

export const SPEC_WORKSPACE_TOML = `label = "strict"            # required, non-empty
on_exit = "reap"            # what happens to commands when the workspace stops
ttl = 30000                 # optional, ms: auto-stop after this long
[soma.rlimits]              # 0 or absent = no limit
mem_bytes = 5242880         # accounted against RSS; the cgroup's memory limit when a cgroup is set
nproc = 2                   # processes alive in the workspace
nofile = 64                 # RLIMIT_NOFILE
[soma.namespaces]           # all default false
user = true                 # map the daemon's uid to 0 inside
pid = true                  # the command is pid 1 of a new pid namespace
mount = true
net = false                 # true = only a loopback interface
uts = false
ipc = false
cgroup = false
[soma.cgroup]
path = "shipote/bounded"    # relative to the daemon's own cgroup; "" = none
[quota_enforce]
mem = "kill"                # none | log | kill (case-insensitive)
nproc = "kill"
`;

/**
 * What SPEC_WORKSPACE_TOML means, written out by hand (never derived from the parser): the
 * parser test's expectation, and the workspace the snapshot fixtures store.
 */
export const SPEC_WORKSPACE_VALUE: WorkspaceSpec = {
  label: 'strict',
  onExit: 'reap',
  ttlMs: 30000,
  rlimits: { memBytes: 5242880, nproc: 2, nofile: 64 },
  namespaces: {
    user: true,
    pid: true,
    mount: true,
    net: false,
    uts: false,
    ipc: false,
    cgroup: false,
  },
  cgroupPath: 'shipote/bounded',
  quotaEnforce: { mem: 'kill', nproc: 'kill' },
};

export const SPEC_PIPELINE_TOML = `label = "echo-cat"
workspace = "<WS>"                      # id or label of an existing workspace
discern = { sample_bytes = 4096, enrich_producer = true }

[[nodes]]
label = "producer"
payload.Native = { exec = "/bin/echo", argv = ['{"hello": 1}'], envp = [] }

[[nodes]]
label = "consumer"
payload.Native = { exec = "/bin/cat", argv = [], envp = [] }

[[edges]]
from = 0
from_output = "stdout"                  # or "stderr"
to = 1
to_input = "stdin"
`;
