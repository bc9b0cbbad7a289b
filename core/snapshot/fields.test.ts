/**
 * Every field of every record a snapshot holds, one at a time: a wrong value is refused
 * with the field's own path (`livePipelines[0].spec.restart.backoffMsMax: expected …`),
 * an empty text only where the layout allows it, and each list entry keeps its own
 * per-entry or whole-file verdict. The paths below come from walking a full v5 file, not
 * from the decoder, so a checker that names the wrong field fails here.
 */

import { V4_TEXT, V5_TEXT } from '../../testing/fixtures/snapshot.js';
import { decodeSnapshot } from './codec.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const LOGS = { maxBytes: 65536, keep: 3 };

/** A v5 file with one entry in every list, every optional part (`logs`) set. */
function fullV5(): { [key: string]: Json } {
  const raw = JSON.parse(V5_TEXT);
  raw.stats = JSON.parse(V4_TEXT).stats;
  raw.commands[0].spec.logs = { ...LOGS };
  raw.livePipelines[0].spec.logs = { ...LOGS };
  raw.livePipelines[0].spec.nodes[0].logs = { ...LOGS };
  return raw;
}

type Keys = (string | number)[];

/** Every field below the top level, with the decoder's path for it: `a.b[0].c`. */
function leaves(value: Json, path: string, keys: Keys, out: [string, Keys][]): void {
  // A list or record is a field too (an array where one is due, an object where one is).
  if (keys.length > 1) out.push([path, keys]);
  if (value === null || typeof value !== 'object') return;
  const entries: [string | number, Json][] = Array.isArray(value)
    ? value.map((v, i) => [i, v])
    : Object.entries(value);
  for (const [k, v] of entries) {
    const at = typeof k === 'number' ? `${path}[${k}]` : path === '' ? k : `${path}.${k}`;
    leaves(v, at, [...keys, k], out);
  }
}

function allLeaves(): [string, Keys][] {
  const out: [string, Keys][] = [];
  leaves(fullV5(), '', [], out);
  return out;
}

function setAt(raw: Json, keys: Keys, value: Json): void {
  let at = raw as Record<string | number, Json>;
  for (const k of keys.slice(0, -1)) at = at[k] as Record<string | number, Json>;
  at[keys[keys.length - 1] as string | number] = value;
}

/** The message the decoder gave for the file, whole-file refusal or skipped entry. */
function verdict(raw: Json): { kind: 'ok' | 'skipped' | 'corrupt'; message: string } {
  const result = decodeSnapshot(JSON.stringify(raw));
  if (!result.ok) return { kind: 'corrupt', message: result.message };
  const first = result.skipped[0];
  if (first === undefined) return { kind: 'ok', message: '' };
  expect(result.skipped).toHaveLength(1);
  return { kind: 'skipped', message: first.message };
}

/** Commands are one list checked whole; the other lists drop only a bad entry. */
const wholeFile = (path: string) => path.startsWith('commands');

/** Texts that must not be empty; every other text may be. */
const NON_EMPTY = [
  'workspaces[0].id',
  'workspaces[0].spec.label',
  'savedPipelines[0].name',
  'livePipelines[0].id',
  'livePipelines[0].spec.label',
  'livePipelines[0].spec.workspace',
  'livePipelines[0].spec.nodes[0].label',
  'livePipelines[0].spec.nodes[1].label',
  'livePipelines[0].spec.nodes[0].payload.exec',
  'livePipelines[0].spec.nodes[1].payload.exec',
  'stats[0].workspaceId',
  'commands[0].id',
  'commands[0].workspaceId',
  'commands[0].spec.exec',
  'commands[0].spec.label',
];

describe('snapshot fields', () => {
  it('the full file decodes whole', () => {
    expect(verdict(fullV5())).toEqual({ kind: 'ok', message: '' });
    expect(allLeaves().length).toBeGreaterThan(100);
  });

  it.each(allLeaves())('%s: a null is refused with that path', (path, keys) => {
    const raw = fullV5();
    setAt(raw, keys, null);
    const got = verdict(raw);
    expect(got.kind).toBe(wholeFile(path) ? 'corrupt' : 'skipped');
    const prefix = wholeFile(path) ? 'snapshot is corrupt: ' : '';
    expect(got.message).toBe(`${prefix}${path}: expected ${expectedOf(path, keys)}, got null`);
  });

  const texts = allLeaves().filter(([, keys]) => typeof valueAt(fullV5(), keys) === 'string');

  it.each(texts)('%s: an empty text is refused only where one is due', (path, keys) => {
    const raw = fullV5();
    setAt(raw, keys, '');
    const got = verdict(raw);
    if (path.endsWith('cgroupPath')) {
      // The empty path is the daemon's own group: accepted.
      expect(got.kind).toBe('ok');
    } else if (NON_EMPTY.includes(path)) {
      expect(got.kind).toBe(wholeFile(path) ? 'corrupt' : 'skipped');
      expect(got.message).toContain(`${path}: expected a non-empty string, got "" (string)`);
    } else if (isChoice(path, '')) {
      expect(got.message).toContain(`${path}: expected one of `);
    } else {
      expect(got).toEqual({ kind: 'ok', message: '' });
    }
  });

  it.each([
    ['commands[0].spec.logs.maxBytes', 1],
    ['livePipelines[0].spec.logs.keep', 1_000_000],
    ['livePipelines[0].spec.nodes[0].logs.maxBytes', 1],
  ])('%s: a rotation the daemon would refuse is refused with that path', (path, value) => {
    const raw = fullV5();
    const keys = allLeaves().find(([p]) => p === path)?.[1] ?? [];
    setAt(raw, keys, value);
    const got = verdict(raw);
    expect(got.kind).toBe(wholeFile(path) ? 'corrupt' : 'skipped');
    expect(got.message).toMatch(new RegExp(`${path.replace(/[[\].]/g, '\\$&')}: \\S`));
    expect(got.message).not.toContain('expected a non-negative');
  });
});

function valueAt(raw: Json, keys: Keys): Json {
  let at = raw;
  for (const k of keys) at = (at as Record<string | number, Json>)[k] as Json;
  return at;
}

const CHOICES = /\.(onExit|mem|nproc|fromOutput|toInput|restart|ready)$/;
const isChoice = (path: string, value: Json) =>
  typeof value === 'string' && CHOICES.test(path) && !path.includes('rlimits');

/** What the layout expects at a path, from the kind of value the full file holds there. */
function expectedOf(path: string, keys: Keys): string {
  const value = valueAt(fullV5(), keys);
  if (isChoice(path, value)) return `one of ${choicesOf(path)}`;
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'boolean') return 'a boolean';
  if (typeof value === 'number') return 'a non-negative safe integer';
  return NON_EMPTY.includes(path) ? 'a non-empty string' : 'a string';
}

function choicesOf(path: string): string {
  if (path.endsWith('onExit')) return 'reap, wait';
  if (path.endsWith('fromOutput')) return 'stdout, stderr';
  if (path.endsWith('toInput')) return 'stdin';
  if (path.endsWith('restart')) return 'no, on-failure, always';
  if (path.endsWith('ready')) return 'exec, notify';
  return 'none, log, kill';
}
