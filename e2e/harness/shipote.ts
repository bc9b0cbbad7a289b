/**
 * Drives shipote's CLI inside a container: `node /src/bin/shipote.mjs …` with a socket,
 * state file and event log of its own per test (under /tmp/shipote-e2e/<name>), so two
 * tests in one container never share a daemon. The daemon is started explicitly (and
 * autostart is off for every CLI call), so a test always knows which daemon it talks to
 * and a dead one shows up as exit 69 instead of being silently replaced.
 */

import { withJsonFlag } from '../../adapters/cli/argv.js';
import type { CommandView, PipelineView, WorkspaceView } from '../../core/engine/api.js';
import type { E2eContainer } from './container.js';
import { srcInContainer } from './env.js';
import { E2eError } from './errors.js';
import { pollUntil } from './poll.js';

export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface ShipoteOptions {
  /** Run the daemon and the CLI as this user (e.g. `nobody`); default root. */
  user?: string;
  /** Shell prefix run before the daemon's exec (cgroup v2: enter the daemon's cgroup). */
  daemonPrefix?: string;
  /** Let the CLI start a daemon when none answers (off by default: tests start it). */
  autostart?: boolean;
}

/** Single-quotes a word for `sh -c`. */
export const q = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`;

export class Shipote {
  readonly dir: string;
  readonly socket: string;
  readonly statePath: string;
  readonly eventLogPath: string;
  readonly env: Record<string, string>;

  constructor(
    private readonly c: E2eContainer,
    readonly name: string,
    private readonly options: ShipoteOptions = {},
  ) {
    this.dir = `/tmp/shipote-e2e/${name}`;
    this.socket = `${this.dir}/run/shipote.sock`;
    this.statePath = `${this.dir}/state/shipote/state.json`;
    this.eventLogPath = `${this.dir}/state/shipote/events.log`;
    this.env = {
      SHIPOTE_SOCKET: this.socket,
      SHIPOTE_STATE: this.statePath,
      SHIPOTE_NO_AUTOSTART: options.autostart ? '0' : '1',
      XDG_RUNTIME_DIR: `${this.dir}/run`,
      XDG_STATE_HOME: `${this.dir}/state`,
      HOME: `${this.dir}/home`,
      NO_COLOR: '1',
    };
  }

  private get user(): { user?: string } {
    return this.options.user ? { user: this.options.user } : {};
  }

  /** `shipote ARGS…` in the container; never throws for a non-zero exit. */
  async cli(args: string[], timeoutMs = 30_000): Promise<CliResult> {
    const argv = ['node', `${srcInContainer}/bin/shipote.mjs`, ...args];
    return this.c.exec(argv, { env: this.env, timeoutMs, ...this.user });
  }

  /** `shipote ARGS… --json` (before any `--`), parsed; throws unless it exits 0. */
  async json<T>(args: string[]): Promise<T> {
    const withJson = withJsonFlag(args);
    const r = await this.cli(withJson);
    if (r.exitCode !== 0) throw this.failure(withJson, r);
    try {
      return JSON.parse(r.stdout) as T;
    } catch (cause) {
      throw new E2eError('shipote', `shipote ${withJson.join(' ')} printed no JSON`, { cause });
    }
  }

  failure(args: string[], r: CliResult): E2eError {
    return new E2eError(
      'shipote',
      `shipote ${args.join(' ')} exited ${r.exitCode}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`,
    );
  }

  /** Starts `shipote daemon` detached (own session, output in daemon.log); returns its pid. */
  /** Creates this test's dirs (owned by the test's user). */
  async prepare(): Promise<void> {
    const { dir } = this;
    await this.c.shOk(`mkdir -p ${dir}/run ${dir}/state/shipote ${dir}/home && rm -f ${dir}/pid`);
    if (this.options.user) await this.c.shOk(`chown -R ${this.options.user} ${dir}`);
  }

  async startDaemon(): Promise<number> {
    const { dir } = this;
    await this.prepare();
    const daemon =
      `node ${srcInContainer}/bin/shipote.mjs daemon ` +
      `--socket ${q(this.socket)} --state ${q(this.statePath)}`;
    const inner = `${this.options.daemonPrefix ?? ''}echo $$ > ${dir}/pid; exec ${daemon}`;
    const launch = `cd ${dir} && setsid sh -c ${q(inner)} </dev/null >>${dir}/daemon.log 2>&1 &`;
    await this.c.shOk(launch, { env: this.env, ...this.user });
    const pid = await pollUntil(
      async () => {
        const out = await this.c.sh(`cat ${dir}/pid 2>/dev/null`);
        return /^\d+$/.test(out.stdout.trim()) ? Number(out.stdout.trim()) : undefined;
      },
      { what: `the daemon's pid file in ${dir}` },
    );
    await pollUntil(
      async () => {
        if (!(await this.alive(pid))) {
          const log = await this.daemonLog();
          throw new E2eError('shipote', `daemon ${pid} died; its log:\n${log}`, { fatal: true });
        }
        return (await this.cli(['health', '--json'])).exitCode === 0 ? true : undefined;
      },
      { what: `shipote daemon ${pid} to answer on ${this.socket}`, timeoutMs: 30_000 },
    );
    return pid;
  }

  async daemonLog(): Promise<string> {
    return (await this.c.sh(`cat ${this.dir}/daemon.log 2>/dev/null`)).stdout;
  }

  /** True while `pid` exists and is not a zombie. */
  async alive(pid: number): Promise<boolean> {
    // The state follows the `(comm)` field, which may itself contain spaces.
    const r = await this.c.sh(`sed 's/.*) //' /proc/${pid}/stat 2>/dev/null | cut -d' ' -f1`);
    const state = r.stdout.trim();
    return state !== '' && state !== 'Z';
  }

  /** Waits until none of `pids` is alive. */
  async waitGone(pids: number[], what: string, timeoutMs = 20_000): Promise<void> {
    await pollUntil(
      async () => {
        for (const pid of pids) if (await this.alive(pid)) return undefined;
        return true;
      },
      { what, timeoutMs },
    );
  }

  async writeSpec(fileName: string, toml: string): Promise<string> {
    const target = `${this.dir}/${fileName}`;
    await this.c.writeFile(target, toml);
    return target;
  }

  async createWorkspace(toml: string): Promise<{ id: string; warnings: string[] }> {
    const file = await this.writeSpec(`ws-${Date.now()}.toml`, toml);
    return this.json(['workspace', 'create', file]);
  }

  async workspaces(): Promise<WorkspaceView[]> {
    return this.json(['workspace', 'list']);
  }

  async run(ws: string, argv: string[], flags: string[] = []): Promise<CommandView> {
    return this.json(['run', ws, ...flags, '--', ...argv]);
  }

  async commands(ws: string): Promise<CommandView[]> {
    return this.json(['commands', ws]);
  }

  async command(ws: string, id: string): Promise<CommandView> {
    const found = (await this.commands(ws)).find((cmd) => cmd.id === id);
    if (!found) throw new E2eError('shipote', `command ${id} is not listed in ${ws}`);
    return found;
  }

  /** Polls until the command has exited (not alive, exit recorded). */
  async waitExit(ws: string, id: string, timeoutMs = 20_000): Promise<CommandView> {
    return pollUntil(
      async () => {
        const cmd = await this.command(ws, id);
        return !cmd.alive && cmd.exit ? cmd : undefined;
      },
      { what: `command ${id} to exit`, timeoutMs },
    );
  }

  async logs(ws: string, id: string, stream: 'stdout' | 'stderr' = 'stdout'): Promise<string> {
    const r = await this.cli(['logs', ws, id, `--${stream}`]);
    if (r.exitCode !== 0) throw this.failure(['logs', ws, id], r);
    return r.stdout;
  }

  /** Running pipelines (`pipeline list --json` prints `{running, saved}`). */
  async pipelines(): Promise<PipelineView[]> {
    return (await this.json<{ running: PipelineView[] }>(['pipeline', 'list'])).running;
  }

  /** The logfmt lifecycle events (`shipote events`), one string per line. */
  async events(): Promise<string[]> {
    const r = await this.cli(['events']);
    if (r.exitCode !== 0) throw this.failure(['events'], r);
    return r.stdout.split('\n').filter((line) => line.trim() !== '');
  }

  /** Pids (not zombies) whose command line contains `needle` (args joined by spaces). */
  async pidsWithArgs(needle: string): Promise<number[]> {
    // The needle travels in the environment so this scanner's own argv cannot match it.
    const script =
      'for f in /proc/[0-9]*/cmdline; do c=$(tr "\\0" " " <"$f" 2>/dev/null) || continue; ' +
      // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion
      'case "$c" in *"$NEEDLE"*) p=${f#/proc/}; echo ${p%/cmdline};; esac; done';
    const out = await this.c.shOk(script, { env: { NEEDLE: needle } });
    return out
      .split('\n')
      .filter(Boolean)
      .map(Number)
      .filter((pid) => pid > 0);
  }

  /**
   * Pids of every `shipote daemon` serving this test's socket: started as `bin/shipote.mjs`
   * by this harness, or as `bin/shipote.cjs` by the CLI's auto-start.
   */
  async daemonPids(): Promise<number[]> {
    const pids = await Promise.all(
      ['mjs', 'cjs'].map((ext) =>
        this.pidsWithArgs(`shipote.${ext} daemon --socket ${this.socket}`),
      ),
    );
    return [...new Set(pids.flat())];
  }

  /** Stops the daemon with `signal` and waits until it is gone. */
  async killDaemon(pid: number, signal: 'KILL' | 'TERM'): Promise<void> {
    await this.c.sh(`kill -${signal} ${pid}`);
    await this.waitGone([pid], `daemon ${pid} to die of SIG${signal}`);
  }
}
