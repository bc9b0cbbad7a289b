/**
 * The container fixture: a scoped resource (start on acquire, stop and remove on release)
 * built from the local image run.sh imported. It has every capability but
 * CAP_SYS_RESOURCE (the host lacks it, so `--privileged` fails), no seccomp or AppArmor
 * profile, a PRIVATE cgroup namespace (mounting cgroupfs inside then shows the
 * container's own subtree, not the host's) and no masked /proc paths (a fresh /proc can
 * then be mounted in a new pid+mount namespace). No network: the suites need none.
 */

import type { HostConfig } from 'dockerode';
import {
  type ExecResult,
  GenericContainer,
  getContainerRuntimeClient,
  type ImagePullPolicy,
  type StartedTestContainer,
} from 'testcontainers';
import { imageTag, repoRoot, srcInContainer } from './env.js';
import { E2eError } from './errors.js';

/** Docker's HostConfig fields dockerode's types do not list yet. */
type DelegatedHostConfig = HostConfig & { CgroupnsMode?: 'private' | 'host' };

/** The image is local (`docker import`): never pull, fail fast if it is missing. */
const neverPull: ImagePullPolicy = { shouldPull: () => false };

/** PID 1: a shell that reaps whatever is reparented to it and exits on SIGTERM. */
const initScript =
  'trap "exit 0" TERM; echo e2e-init ready; while :; do sleep 3600 & wait $!; done';

/** What a suite may change about the container: its pid 1 and its environment. */
export interface ContainerOptions {
  entrypoint?: string[];
  env?: Record<string, string>;
}

class DelegatedContainer extends GenericContainer {
  constructor(image: string, options: ContainerOptions = {}) {
    super(image);
    this.withPullPolicy(neverPull)
      .withNetworkMode('none')
      .withAddedCapabilities('ALL')
      .withDroppedCapabilities('SYS_RESOURCE')
      .withSecurityOpt('seccomp=unconfined', 'apparmor=unconfined')
      .withBindMounts([{ source: repoRoot, target: srcInContainer, mode: 'ro' }])
      .withEntrypoint(options.entrypoint ?? ['/bin/sh', '-c', initScript])
      .withEnvironment(options.env ?? {})
      .withLabels(runLabels())
      .withStartupTimeout(30_000);
    const hostConfig: DelegatedHostConfig = this.hostConfig;
    hostConfig.CgroupnsMode = 'private';
    hostConfig.MaskedPaths = [];
    hostConfig.ReadonlyPaths = [];
  }
}

/** run.sh's `key=value` label, so it can find (and remove) this run's containers. */
function runLabels(): Record<string, string> {
  const label = process.env.SHIPOTE_E2E_RUN_LABEL ?? 'shipote.e2e.run=adhoc';
  const at = label.indexOf('=');
  return { [label.slice(0, at)]: label.slice(at + 1) };
}

export interface ExecOptions {
  env?: Record<string, string>;
  user?: string;
  /** Killed (SIGKILL, by busybox `timeout` inside) after this long. Default 60 s. */
  timeoutMs?: number;
}

export interface E2eContainer {
  readonly id: string;
  /** Runs argv in the container; never throws for a non-zero exit. */
  exec(argv: string[], options?: ExecOptions): Promise<ExecResult>;
  /** `sh -c script`; never throws for a non-zero exit. */
  sh(script: string, options?: ExecOptions): Promise<ExecResult>;
  /** `sh -c script`, throwing an E2eError (with stdout/stderr) unless it exits 0. */
  shOk(script: string, options?: ExecOptions): Promise<string>;
  /** Writes a file inside the container. */
  writeFile(target: string, content: string): Promise<void>;
  /** `docker stop -t seconds` (SIGTERM to pid 1, SIGKILL past it): exit code and logs. */
  dockerStop(seconds: number): Promise<{ exitCode: number; logs: string }>;
  /** Stops and removes the container. Idempotent. */
  release(): Promise<void>;
}

export async function acquireContainer(
  image = imageTag,
  options: ContainerOptions = {},
): Promise<E2eContainer> {
  await assertImagePresent(image);
  let started: StartedTestContainer;
  try {
    started = await new DelegatedContainer(image, options).start();
  } catch (cause) {
    throw new E2eError('start', `container from ${image} did not start`, { cause });
  }
  return wrap(started);
}

/** Acquire, use, release: the container never outlives `use`, whatever it throws. */
export async function withContainer<T>(use: (c: E2eContainer) => Promise<T>): Promise<T> {
  const container = await acquireContainer();
  try {
    return await use(container);
  } finally {
    await container.release();
  }
}

/** True while docker still knows the container (running or stopped). */
export async function containerExists(id: string): Promise<boolean> {
  const client = await getContainerRuntimeClient();
  const all = await client.container.dockerode.listContainers({ all: true });
  return all.some((c) => c.Id === id);
}

async function assertImagePresent(image: string): Promise<void> {
  const client = await getContainerRuntimeClient();
  const images = await client.container.dockerode.listImages();
  if (!images.some((i) => i.RepoTags?.includes(image))) {
    throw new E2eError('image', `image ${image} is not loaded (run through npm run e2e)`);
  }
}

function wrap(started: StartedTestContainer): E2eContainer {
  let released = false;
  const id = started.getId();
  const exec = async (argv: string[], options: ExecOptions = {}) => {
    const seconds = Math.ceil((options.timeoutMs ?? 60_000) / 1000);
    const command = ['timeout', '-s', 'KILL', String(seconds), ...argv];
    try {
      const opts = { env: options.env ?? {}, ...(options.user ? { user: options.user } : {}) };
      return await started.exec(command, opts);
    } catch (cause) {
      throw new E2eError('exec', `exec ${JSON.stringify(argv)} in ${id.slice(0, 12)}`, { cause });
    }
  };
  const sh = (script: string, options?: ExecOptions) => exec(['/bin/sh', '-c', script], options);
  return {
    id,
    exec,
    sh,
    async shOk(script, options) {
      const r = await sh(script, options);
      if (r.exitCode !== 0) {
        const detail = `exit ${r.exitCode}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;
        throw new E2eError('exec', `sh -c ${JSON.stringify(script)} failed: ${detail}`);
      }
      return r.stdout;
    },
    async writeFile(target, content) {
      try {
        await started.copyContentToContainer([{ content, target, mode: 0o644 }]);
      } catch (cause) {
        throw new E2eError('exec', `could not write ${target} in ${id.slice(0, 12)}`, { cause });
      }
    },
    async dockerStop(seconds) {
      const client = await getContainerRuntimeClient();
      const container = client.container.dockerode.getContainer(id);
      await container.stop({ t: seconds });
      const state = (await container.inspect()).State;
      const logs = await container.logs({ stdout: true, stderr: true, follow: false });
      return { exitCode: state.ExitCode, logs: demux(logs) };
    },
    async release() {
      if (released) return;
      released = true;
      try {
        await started.stop({ timeout: 2000, remove: true, removeVolumes: true });
      } catch (cause) {
        throw new E2eError('stop', `container ${id.slice(0, 12)} could not be removed`, { cause });
      }
    },
  };
}

/** Docker's multiplexed log stream (8-byte frame headers) as text. */
function demux(raw: Buffer | string): string {
  if (typeof raw === 'string') return raw;
  const out: Buffer[] = [];
  let at = 0;
  while (at + 8 <= raw.length) {
    const size = raw.readUInt32BE(at + 4);
    out.push(raw.subarray(at + 8, at + 8 + size));
    at += 8 + size;
  }
  return Buffer.concat(out).toString('utf8');
}
