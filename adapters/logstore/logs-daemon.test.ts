/**
 * The log store against a real daemon (real processes, real files): logs outlive a
 * workspace stop and a daemon kill -9, rotation keeps `keep` files of at most `max_bytes`,
 * `-n` / `--since` / `--until` / `--timestamps` pick the right lines, binary output comes
 * back byte-identical, `logs <ws>` merges labelled lines, and a follower that stops
 * reading leaves the daemon's memory bounded.
 */

import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import type { CommandView, PipelineView } from '../../core/engine/api.js';
import { Harness, harnessSkipReason, waitFor } from '../../testing/harness.js';
import { requestStream } from '../control/client.js';

const why = harnessSkipReason();
const maybe = why ? describe.skip : describe;

jest.setTimeout(60_000);

const maxBytes = 64 * 1024;
const keep = 3;

maybe(`log store against a real daemon${why ? ` (skipped: ${why})` : ''}`, () => {
  let h: Harness;
  const saved = { ...process.env };

  beforeAll(async () => {
    // The daemon inherits these (the harness spreads process.env): small files, fast rotation.
    process.env.SHIPOTE_LOG_MAX_BYTES = String(maxBytes);
    process.env.SHIPOTE_LOG_KEEP = String(keep);
    h = new Harness();
    await h.startDaemon();
    writeFileSync(join(h.dir, 'ws.toml'), 'label = "lg"\n');
    expect((await h.cli(['workspace', 'create', join(h.dir, 'ws.toml')])).code).toBe(0);
  });
  afterAll(async () => {
    process.env = saved;
    await h?.close();
  });

  const run = (label: string, script: string): Promise<CommandView> =>
    h.json<CommandView>(['run', 'lg', '--label', label, '--', '/bin/sh', '-c', script]);

  const exited = (label: string): Promise<CommandView> =>
    waitFor(`${label} to exit`, async () => {
      const list = await h.json<CommandView[]>(['commands', 'lg']);
      return list.find((c) => c.label === label && c.state === 'exited');
    });

  const bytesOf = async (path: string): Promise<Buffer> => {
    const parts: Buffer[] = [];
    const r = await requestStream(h.socketPath, path, (c) => {
      parts.push(c);
    });
    if (r.status !== 200) throw new Error(`${path}: ${r.status} ${r.errorText}`);
    return Buffer.concat(parts);
  };

  const logDir = (id: string): string => join(h.dir, 'state', 'logs', id);

  it('keeps logs readable after the workspace stops and after a daemon kill -9', async () => {
    const keeper = await run('keeper', 'echo one; echo two >&2; echo three');
    await exited('keeper');
    const meta = JSON.parse(readFileSync(join(logDir(keeper.id), 'meta.json'), 'utf8'));
    expect(meta).toMatchObject({ key: keeper.id, label: 'keeper', wsLabel: 'lg' });
    await h.cli(['workspace', 'stop', 'lg', '--grace', '0']);
    const before = await h.cli(['logs', 'lg', 'keeper', '--stdout']);
    expect(before).toEqual({ code: 0, stdout: 'one\nthree\n', stderr: '' });
    await h.killDaemon('SIGKILL');
    await h.startDaemon();
    const after = await h.cli(['logs', 'lg', 'keeper', '--stderr']);
    expect(after).toEqual({ code: 0, stdout: 'two\n', stderr: '' });
    await h.cli(['workspace', 'create', join(h.dir, 'ws.toml')]);
  });

  it('rotates: exactly `keep` files of at most `max_bytes`, the newest bytes kept', async () => {
    const view = await run('rot', 'seq 1 60000');
    await exited('rot');
    const files = readdirSync(logDir(view.id)).filter((n) => /^stdout\.log(\.\d+)?$/.test(n));
    expect(files.sort()).toEqual(['stdout.log', 'stdout.log.1', 'stdout.log.2']);
    for (const f of files) {
      expect(statSync(join(logDir(view.id), f)).size).toBeLessThanOrEqual(maxBytes);
    }
    const all = (await bytesOf(`/v1/workspaces/lg/commands/rot/logs?which=stdout`)).toString();
    const full = `${Array.from({ length: 60000 }, (_, i) => i + 1).join('\n')}\n`;
    expect(all.length).toBeGreaterThan(2 * maxBytes);
    expect(full.endsWith(all)).toBe(true);
  });

  const streamFiles = (dir: string, stream = 'stdout'): { name: string; size: number }[] =>
    readdirSync(dir)
      .filter((n) => new RegExp(`^${stream}\\.log(\\.\\d+)?$`).test(n))
      .sort()
      .map((name) => ({ name, size: statSync(join(dir, name)).size }));

  /** `keep` files (stdout.log, .1, …), each of at most `bytes`, all but the newest full. */
  const expectRotated = (dir: string, bytes: number, files: number): void => {
    const got = streamFiles(dir);
    expect(got.map((f) => f.name)).toEqual([
      'stdout.log',
      ...Array.from({ length: files - 1 }, (_, i) => `stdout.log.${i + 1}`),
    ]);
    for (const f of got) expect(f.size).toBeLessThanOrEqual(bytes);
    for (const f of got.slice(1)) expect(f.size).toBe(bytes);
  };

  it("rotates a command by its own max_bytes/keep while another keeps the daemon's", async () => {
    const own = await h.json<CommandView>([
      ...['run', 'lg', '--label', 'own', '--log-max-bytes', '8192', '--log-keep', '2'],
      ...['--', '/bin/sh', '-c', 'seq 1 60000'],
    ]);
    expect(own.spec.logs).toEqual({ maxBytes: 8192, keep: 2 });
    const dflt = await run('dflt', 'seq 1 60000');
    expect(dflt.spec.logs).toBeUndefined();
    await exited('own');
    await exited('dflt');
    for (const label of ['own', 'dflt']) {
      await waitFor(`${label}'s last line on disk`, async () => {
        const out = await bytesOf(`/v1/workspaces/lg/commands/${label}/logs?which=stdout&lines=1`);
        return out.toString() === '60000\n';
      });
    }
    expectRotated(logDir(own.id), 8192, 2);
    expectRotated(logDir(dflt.id), maxBytes, keep);
    const tail = (await bytesOf('/v1/workspaces/lg/commands/own/logs?which=stdout')).toString();
    expect(tail.endsWith('59999\n60000\n')).toBe(true);
    const bad = await h.cli(['run', 'lg', '--log-keep', '500', '--', '/bin/true']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain(
      "logs.keep: expected 0 (the daemon's default) or 1 to 100, got 500",
    );
  });

  it("keeps a command's own rotation across a daemon kill -9 (from the snapshot)", async () => {
    const script = 'seq 1 30000; exec sleep 1000';
    const before = await h.json<CommandView>([
      ...['run', 'lg', '--label', 'kept', '--restart-on-failure'],
      ...['--log-max-bytes', '8192', '--log-keep', '2', '--', '/bin/sh', '-c', script],
    ]);
    const streamBytes = 168_894; // `seq 1 30000`
    type Listed = CommandView & { logBytes?: number };
    const kept = (atLeast: number) =>
      waitFor(`kept to have written ${atLeast} bytes`, async () => {
        const list = await h.json<Listed[]>(['commands', 'lg']);
        const c = list.find((x) => x.label === 'kept' && x.alive);
        return c && (c.logBytes ?? 0) >= atLeast ? c : undefined;
      });
    await kept(streamBytes);
    await h.killDaemon('SIGKILL');
    await h.startDaemon();
    const after = await kept(2 * streamBytes);
    expect(after.id).toBe(before.id);
    expect(after.pid).not.toBe(before.pid);
    expect(after.spec.logs).toEqual({ maxBytes: 8192, keep: 2 });
    expectRotated(logDir(before.id), 8192, 2);
    await h.cli(['stop', 'lg', 'kept']);
  });

  it('a smaller default keep after a daemon restart leaves exactly that many files', async () => {
    const streamBytes = 348_894; // `seq 1 60000`: more than 5 files of 64 KiB
    const view = await h.json<CommandView>([
      ...['run', 'lg', '--label', 'shrink', '--restart-on-failure', '--'],
      ...['/bin/sh', '-c', 'seq 1 60000; exec sleep 1000'],
    ]);
    const wrote = (atLeast: number) =>
      waitFor(`shrink to have written ${atLeast} bytes`, async () => {
        const list = await h.json<(CommandView & { logBytes?: number })[]>(['commands', 'lg']);
        const c = list.find((x) => x.id === view.id && x.alive);
        return c && (c.logBytes ?? 0) >= atLeast ? c : undefined;
      });
    await wrote(streamBytes);
    expectRotated(logDir(view.id), maxBytes, keep);
    const restart = async (keepFiles: number) => {
      await h.killDaemon('SIGKILL');
      process.env.SHIPOTE_LOG_KEEP = String(keepFiles);
      try {
        await h.startDaemon();
      } finally {
        process.env.SHIPOTE_LOG_KEEP = String(keep);
      }
    };
    await restart(2); // the restored command writes its lines again
    await wrote(2 * streamBytes);
    expectRotated(logDir(view.id), maxBytes, 2);
    await h.cli(['stop', 'lg', 'shrink']);
    await restart(keep); // the daemon's defaults for the tests after this one
  });

  it('apply: a service and a pipeline rotate by their logs; a change replaces them', async () => {
    const file = join(h.dir, 'apply-logs.toml');
    const write = (keep: number) =>
      writeFileSync(
        file,
        [
          '[[workspaces]]\nlabel = "lga"\n',
          '[[services]]\nlabel = "svc"\nworkspace = "lga"\nexec = "/bin/sh"',
          'argv = ["-c", "seq 1 30000; exec sleep 1000"]\nrestart = "always"',
          `logs = { max_bytes = 8192, keep = ${keep} }\n`,
          '[[pipelines]]\nlabel = "apl"\nworkspace = "lga"',
          `logs = { max_bytes = 8192, keep = ${keep} }`,
          '[[pipelines.nodes]]\nlabel = "n"',
          'payload.Native = { exec = "/usr/bin/seq", argv = ["1", "30000"], envp = [] }\n',
        ].join('\n'),
      );
    write(2);
    expect(await h.cli(['apply', file])).toMatchObject({ code: 0, stderr: '' });
    const svc = await waitFor('svc to have written its lines', async () => {
      const list = await h.json<(CommandView & { logBytes?: number })[]>(['commands', 'lga']);
      return list.find((c) => c.label === 'svc' && (c.logBytes ?? 0) >= 168_894);
    });
    expect(svc.spec.logs).toEqual({ maxBytes: 8192, keep: 2 });
    expectRotated(logDir(svc.id), 8192, 2);
    const pl = await waitFor('apl to be done', async () => {
      const all = await h.json<{ running: PipelineView[] }>(['pipeline', 'list']);
      return all.running.find((x) => x.label === 'apl' && x.state === 'done');
    });
    await waitFor("apl's last line on disk", async () => {
      const out = await bytesOf('/v1/workspaces/lga/commands/apl.n/logs?which=stdout&lines=1');
      return out.toString() === '30000\n';
    });
    expectRotated(logDir(`${pl.id}/0`), 8192, 2);
    const same = (await h.cli(['apply', file, '--dry-run'])).stdout.split('\n');
    expect(same.filter((l) => /^[~+-] /.test(l))).toEqual([]);
    write(3);
    const plan = (await h.cli(['apply', file, '--dry-run'])).stdout.split('\n');
    expect(plan.filter((l) => /^[~+-] /.test(l))).toEqual([
      '~ service lga/svc (changed: logs)',
      '~ pipeline apl (changed: stop and run again)',
    ]);
    await h.cli(['workspace', 'stop', 'lga', '--grace', '0']);
  });

  it("rotates pipeline nodes by the node's logs over the pipeline's", async () => {
    const node = (label: string, logs = ''): string =>
      `[[nodes]]\nlabel = "${label}"\n${logs}` +
      `[nodes.payload.Native]\nexec = "/usr/bin/seq"\nargv = ["1", "60000"]\nenvp = []\n`;
    const toml =
      'label = "rotp"\nworkspace = "lg"\n[logs]\nmax_bytes = 16384\n' +
      node('a', '[nodes.logs]\nmax_bytes = 8192\nkeep = 2\n') +
      node('b');
    writeFileSync(join(h.dir, 'rotp.toml'), toml);
    const p = await h.json<PipelineView>(['pipeline', 'run', join(h.dir, 'rotp.toml')]);
    expect(p.nodes.map((n) => n.logs)).toEqual([
      { maxBytes: 8192, keep: 2 },
      { maxBytes: 16384, keep: 0 },
    ]);
    await waitFor('the pipeline to finish', async () => {
      const all = await h.json<{ running: PipelineView[] }>(['pipeline', 'list']);
      return all.running.find((x) => x.id === p.id && x.state === 'done');
    });
    for (const n of ['a', 'b']) {
      await waitFor(`node ${n}'s last line on disk`, async () => {
        const out = await bytesOf(`/v1/workspaces/lg/commands/rotp.${n}/logs?which=stdout&lines=1`);
        return out.toString() === '60000\n';
      });
    }
    expectRotated(logDir(`${p.id}/0`), 8192, 2);
    expectRotated(logDir(`${p.id}/1`), 16384, keep);
  });

  it('-n, --since, --until and --timestamps pick lines by their capture time', async () => {
    await run('times', 'echo a1; echo a2; sleep 1; echo b1; echo b2');
    await exited('times');
    const stamped = await h.cli(['logs', 'lg', 'times', '--stdout', '--timestamps']);
    const lines = stamped.stdout.trimEnd().split('\n');
    expect(lines.map((l) => l.split(' ')[1])).toEqual(['a1', 'a2', 'b1', 'b2']);
    const stamps = lines.map((l) => l.split(' ')[0]!);
    for (const s of stamps) expect(new Date(s).toISOString()).toBe(s);
    expect(Date.parse(stamps[2]!) - Date.parse(stamps[1]!)).toBeGreaterThanOrEqual(900);
    const last = await h.cli(['logs', 'lg', 'times', '-n', '2']);
    expect(last.stdout).toBe('b1\nb2\n');
    const since = await h.cli(['logs', 'lg', 'times', '--since', stamps[2]!]);
    expect(since.stdout).toBe('b1\nb2\n');
    const until = await h.cli(['logs', 'lg', 'times', '--until', stamps[1]!]);
    expect(until.stdout).toBe('a1\na2\n');
    const recent = await h.cli(['logs', 'lg', 'times', '--since', '1h']);
    expect(recent.stdout).toBe('a1\na2\nb1\nb2\n');
    const bad = await h.cli(['logs', 'lg', 'times', '--since', 'yesterday']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/since: expected a duration like 10m .* got "yesterday"/);
  });

  it('returns binary output byte-identical, whole and with -n', async () => {
    const blob = randomBytes(40_000);
    const path = join(h.dir, 'blob.bin');
    writeFileSync(path, blob);
    await run('bin', `cat ${path}`);
    await exited('bin');
    const whole = await bytesOf('/v1/workspaces/lg/commands/bin/logs?which=stdout');
    expect(whole.equals(blob)).toBe(true);
    const tail = await bytesOf('/v1/workspaces/lg/commands/bin/logs?which=stdout&lines=3');
    let cut = blob.length - 1;
    for (let found = 0; cut >= 0; cut--) {
      if (blob[cut] === 0x0a && cut !== blob.length - 1 && ++found === 3) break;
    }
    expect(tail.equals(blob.subarray(cut + 1))).toBe(true);
    const file = readFileSync(join(logDir((await exited('bin')).id), 'stdout.log'));
    expect(file.equals(blob)).toBe(true);
  });

  it('merges every command of a workspace by time, each line labelled', async () => {
    // Files order the three lines: L1, then R1, then L2.
    const f1 = join(h.dir, 'f1');
    const f2 = join(h.dir, 'f2');
    const waitFile = (f: string): string => `while [ ! -e ${f} ]; do sleep 0.05; done`;
    await run('left', `echo L1; touch ${f1}; ${waitFile(f2)}; echo L2`);
    await run('right', `${waitFile(f1)}; echo R1; sleep 0.05; touch ${f2}`);
    await exited('left');
    await exited('right');
    const merged = await h.cli(['logs', 'lg', '--stdout']);
    const mine = merged.stdout.split('\n').filter((l) => /^(left|right) /.test(l));
    expect(mine.map((l) => l.replace(/ +\|/, ' |'))).toEqual([
      'left | L1',
      'right | R1',
      'left | L2',
    ]);
  });

  it('-f starts from -n and ends when the command exits', async () => {
    const go = join(h.dir, 'go-follow');
    await run('fol', `echo a; echo b; while [ ! -e ${go} ]; do sleep 0.05; done; echo c`);
    await waitFor('a and b', async () => {
      const r = await h.cli(['logs', 'lg', 'fol', '--stdout']);
      return r.stdout === 'a\nb\n';
    });
    const seen: string[] = [];
    const r = await requestStream(
      h.socketPath,
      '/v1/workspaces/lg/commands/fol/logs?which=stdout&lines=1&follow=1',
      (c) => {
        seen.push(c.toString());
        if (seen.length === 1) writeFileSync(go, '');
      },
    );
    expect(r.status).toBe(200);
    expect(seen.join('')).toBe('b\nc\n');
  });

  it('a silent command has no log files: logs answers empty, -f sees its first line', async () => {
    const go = join(h.dir, 'go-quiet');
    const view = await run('quiet', `while [ ! -e ${go} ]; do sleep 0.05; done; echo late`);
    // Running and silent: nothing on disk, not even its directory, and logs is empty.
    expect(existsSync(logDir(view.id))).toBe(false);
    expect(await h.cli(['logs', 'lg', 'quiet'])).toEqual({ code: 0, stdout: '', stderr: '' });
    const seen: string[] = [];
    const follow = requestStream(
      h.socketPath,
      '/v1/workspaces/lg/commands/quiet/logs?which=stdout&follow=1',
      (c) => {
        seen.push(c.toString());
      },
    );
    expect(await h.cli(['logs', 'lg', 'quiet', '--stdout'])).toMatchObject({ stdout: '' });
    writeFileSync(go, '');
    expect((await follow).status).toBe(200);
    expect(seen.join('')).toBe('late\n');
    await exited('quiet');
    expect(await h.cli(['logs', 'lg', 'quiet'])).toEqual({ code: 0, stdout: 'late\n', stderr: '' });
    // The files came with the first byte, meta.json with them; stderr never printed.
    const meta = JSON.parse(readFileSync(join(logDir(view.id), 'meta.json'), 'utf8'));
    expect(meta).toMatchObject({ key: view.id, label: 'quiet', wsLabel: 'lg' });
    expect(readdirSync(logDir(view.id)).sort()).toEqual(['meta.json', 'stdout.idx', 'stdout.log']);
  });

  it('logs <ws> -f picks up commands and pipelines started after it began', async () => {
    writeFileSync(join(h.dir, 'wsf.toml'), 'label = "lgf"\n');
    expect((await h.cli(['workspace', 'create', join(h.dir, 'wsf.toml')])).code).toBe(0);
    const followWs = () => {
      const f = { seen: '', end: Promise.resolve({ status: 0, errorText: '' }) };
      f.end = requestStream(h.socketPath, '/v1/workspaces/lgf/logs?which=stdout&follow=1', (c) => {
        f.seen += c.toString();
      });
      return f;
    };
    const shows = (f: { seen: string }, what: string, re: RegExp) =>
      waitFor(what, () => re.test(f.seen));
    const sh = (label: string, script: string) =>
      h.json<CommandView>(['run', 'lgf', '--label', label, '--', '/bin/sh', '-c', script]);
    // Nothing runs in it yet: this follow waits for the first command instead of a 404.
    const fromEmpty = followWs();
    await sh('first', 'echo F1; exec sleep 1000');
    await shows(fromEmpty, 'the first command', /^first +\| F1$/m);
    const fromFirst = followWs();
    await shows(fromFirst, 'the first command', /^first +\| F1$/m);
    await sh('later-one', 'echo L1; exec sleep 1000');
    for (const f of [fromFirst, fromEmpty]) {
      await shows(f, 'a command started later', /^later-one +\| L1$/m);
    }
    const toml =
      'label = "pl"\nworkspace = "lgf"\n[[nodes]]\nlabel = "n"\n' +
      '[nodes.payload.Native]\nexec = "/bin/echo"\nargv = ["P1"]\nenvp = []\n';
    writeFileSync(join(h.dir, 'plf.toml'), toml);
    expect((await h.cli(['pipeline', 'run', join(h.dir, 'plf.toml')])).code).toBe(0);
    for (const f of [fromFirst, fromEmpty]) {
      await shows(f, 'a pipeline node started later', /^pl\.n +\| P1$/m);
    }
    // The follows end once the workspace stops and its commands are gone.
    await h.cli(['workspace', 'stop', 'lgf', '--grace', '0']);
    for (const f of [fromFirst, fromEmpty]) {
      expect((await f.end).status).toBe(200);
      expect(f.seen.match(/^\S+ +\| \w+$/gm)?.map((l) => l.replace(/ +\|/, ' |'))).toEqual([
        'first | F1',
        'later-one | L1',
        'pl.n | P1',
      ]);
    }
  });

  it('a follower that stops reading leaves the daemon memory bounded', async () => {
    const pid = h.daemon!.pid!;
    const rssKiB = (field: 'VmRSS' | 'VmHWM'): number =>
      Number(
        new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1],
      );
    await run('flood', 'sleep 0.5; head -c 400000000 /dev/zero | tr "\\0" "x"');
    // A raw client that asks to follow and never reads a byte.
    const sock = createConnection(h.socketPath);
    sock.write('GET /v1/workspaces/lg/commands/flood/logs?follow=1 HTTP/1.1\r\nHost: x\r\n\r\n');
    sock.pause();
    const before = rssKiB('VmRSS');
    const view = await waitFor(
      'the flood to end',
      async () => {
        const list = await h.json<CommandView[]>(['commands', 'lg']);
        return list.find((c) => c.label === 'flood' && c.state === 'exited');
      },
      120_000,
    );
    expect(view.state).toBe('exited');
    const peakKiB = rssKiB('VmHWM');
    sock.destroy();
    expect(peakKiB - before).toBeLessThan(150 * 1024);
    // And after the flood the daemon is back within 10 MiB of where it was.
    await waitFor('RSS back near where it was', () => rssKiB('VmRSS') - before < 10 * 1024);
  }, 150_000);
});
