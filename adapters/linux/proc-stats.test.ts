import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseChildren, parsePidStat, parsePidStatus, sampleTrees } from './proc-stats.js';

const dump = (name: string): string =>
  readFileSync(join(import.meta.dirname, 'test', 'dumps', name), 'utf8');

describe('/proc parsers', () => {
  it('reads state, ppid, pgid, sid, utime+stime and starttime from a real stat line', () => {
    const text = dump('proc-self.stat');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    const stat = parsePidStat(text);
    expect(stat).toEqual({
      pid: Number(text.split(' ')[0]),
      state: fields[0],
      ppid: Number(fields[1]),
      pgid: Number(fields[2]),
      sid: Number(fields[3]),
      cpuTicks: Number(fields[11]) + Number(fields[12]),
      startTicks: Number(fields[19]),
    });
    expect(stat?.startTicks).toBe(206406); // field 22 of the dump, counted by hand
  });

  it('survives a command name with spaces and parentheses', () => {
    const line = '42 (a (b) c) S 1 42 42 0 -1 4194560 100 0 0 0 7 3 0 0 20 0 1 0 5 1000 50';
    expect(parsePidStat(line)).toEqual({
      pid: 42,
      state: 'S',
      ppid: 1,
      pgid: 42,
      sid: 42,
      cpuTicks: 10,
      startTicks: 5,
    });
  });

  it('reads VmRSS and VmHWM in bytes from a real status file', () => {
    const status = parsePidStatus(dump('proc-self.status'));
    const kb = (key: string) =>
      Number(new RegExp(`${key}:\\s+(\\d+)`).exec(dump('proc-self.status'))![1]);
    expect(status).toEqual({ rssBytes: kb('VmRSS') * 1024, rssPeakBytes: kb('VmHWM') * 1024 });
  });

  it('reads 0 for kernel threads, which have no VmRSS', () => {
    expect(parsePidStatus('Name:\tkthreadd\nState:\tS (sleeping)\n')).toEqual({
      rssBytes: 0,
      rssPeakBytes: 0,
    });
  });

  it('splits a children file', () => {
    expect(parseChildren('12 34 56 ')).toEqual([12, 34, 56]);
    expect(parseChildren('')).toEqual([]);
  });
});

describe('sampleTrees', () => {
  it('counts this process and reports its RSS', () => {
    const s = sampleTrees([process.pid], 100);
    expect(s.alive).toBeGreaterThanOrEqual(1);
    expect(s.rssBytes).toBeGreaterThan(1 << 20);
    expect(s.cpuUs).toBeGreaterThan(0);
  });

  it('reports nothing for a pid that does not exist', () => {
    expect(sampleTrees([2 ** 22 + 7], 100)).toEqual({ alive: 0, rssBytes: 0, cpuUs: 0 });
  });
});
