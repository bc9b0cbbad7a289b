/**
 * Timer keys as typed values. The shell and the state's `timers` map hold them encoded as
 * strings (a map key); this is the one place that encodes and decodes them.
 */

export type TimerKey =
  /** A command's backoff is over: spawn it again. */
  | { kind: 'restart'; id: string }
  /** A pipeline's backoff is over: spawn its group again. */
  | { kind: 'pipeline-restart'; id: string }
  /** A workspace stop's grace is over: SIGKILL what is left. */
  | { kind: 'stop-grace'; id: string }
  /** A pipeline stop's grace is over: SIGKILL its nodes. */
  | { kind: 'pipeline-stop-grace'; id: string }
  /** A workspace's time to live is over: stop it. */
  | { kind: 'ttl'; id: string }
  /** No WATCHDOG=1 from a command in time: SIGKILL it. */
  | { kind: 'watchdog'; id: string }
  /** An operator restart's or stop's grace is over: SIGKILL the command. */
  | { kind: 'kill'; id: string }
  /** No READY=1 from a command within readyTimeoutMs: SIGKILL it (a failure). */
  | { kind: 'ready'; id: string }
  /** A cgroup kill or remove answered Busy: try again. */
  | { kind: 'cgroup-retry'; op: 'kill' | 'remove'; handle: string; attempt: number }
  /** The daemon's shutdown grace is over: SIGKILL (then give up waiting). */
  | { kind: 'shutdown-grace' }
  /** The quota/stats tick. */
  | { kind: 'sample' }
  /** The deferred snapshot write. */
  | { kind: 'save' };

const SEP = ':';

export function encodeTimer(key: TimerKey): string {
  switch (key.kind) {
    case 'cgroup-retry':
      // The handle is a path and may hold the separator: it goes last.
      return [key.kind, key.op, key.attempt, key.handle].join(SEP);
    case 'shutdown-grace':
    case 'sample':
    case 'save':
      return key.kind;
    default:
      return `${key.kind}${SEP}${key.id}`;
  }
}

const WITH_ID = new Set<string>([
  'restart',
  'pipeline-restart',
  'stop-grace',
  'pipeline-stop-grace',
  'ttl',
  'watchdog',
  'kill',
  'ready',
]);

/** The key an encoded string names; throws on a string `encodeTimer` never produces. */
export function decodeTimer(text: string): TimerKey {
  const at = text.indexOf(SEP);
  // Stryker disable next-line EqualityOperator: at 0 the kind is '' either way: unknown
  const kind = at < 0 ? text : text.slice(0, at);
  // Without a separator only cgroup-retry reads `rest`, and refuses it whatever it holds.
  // Stryker disable next-line ConditionalExpression,EqualityOperator,StringLiteral: see above
  const rest = at < 0 ? '' : text.slice(at + 1);
  if (kind === 'shutdown-grace' || kind === 'sample' || kind === 'save') {
    // Stryker disable next-line EqualityOperator: at is not 0 here (the kind is not empty)
    if (at >= 0) throw new Error(`decodeTimer: "${text}" has an id its kind never takes`);
    return { kind };
  }
  if (kind === 'cgroup-retry') {
    const [op, attempt, ...handle] = rest.split(SEP);
    const n = Number(attempt);
    if ((op === 'kill' || op === 'remove') && Number.isInteger(n) && handle.length > 0) {
      return { kind, op, attempt: n, handle: handle.join(SEP) };
    }
    throw new Error(`decodeTimer: malformed cgroup-retry key "${text}"`);
  }
  // Stryker disable next-line EqualityOperator: at 0 the kind is '', not in WITH_ID anyway
  if (!WITH_ID.has(kind) || at < 0) throw new Error(`decodeTimer: unknown timer key "${text}"`);
  return { kind, id: rest } as TimerKey;
}
