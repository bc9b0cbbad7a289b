/** Signal numbers for the `128 + signal` exit status (Linux x86-64/arm64 numbering). */

import type { ExitStatus } from './api.js';

const SIGNAL_NUMBERS: Record<string, number> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGILL: 4,
  SIGTRAP: 5,
  SIGABRT: 6,
  SIGBUS: 7,
  SIGFPE: 8,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGSEGV: 11,
  SIGUSR2: 12,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
  SIGSTKFLT: 16,
  SIGCHLD: 17,
  SIGCONT: 18,
  SIGSTOP: 19,
  SIGTSTP: 20,
  SIGTTIN: 21,
  SIGTTOU: 22,
  SIGURG: 23,
  SIGXCPU: 24,
  SIGXFSZ: 25,
  SIGVTALRM: 26,
  SIGPROF: 27,
  SIGWINCH: 28,
  SIGIO: 29,
  SIGPWR: 30,
  SIGSYS: 31,
};

export function signalNumber(signal: string): number {
  const known = SIGNAL_NUMBERS[signal];
  if (known !== undefined) return known;
  const numeric = Number.parseInt(signal.replace(/^SIG/, ''), 10);
  return Number.isInteger(numeric) && numeric > 0 ? numeric : 0;
}

export function exitStatus(code: number | null, signal: string | null): ExitStatus {
  if (signal !== null) return { code: null, signal, status: 128 + signalNumber(signal) };
  if (code === null) throw new Error('exitStatus: a death has a code or a signal');
  return { code, signal: null, status: code };
}

/** `signal=SIGKILL` or `code=3`, for exit events. */
export function deathFields(exit: ExitStatus): Record<string, string | number> {
  return exit.signal !== null ? { signal: exit.signal } : { code: exit.code ?? 0 };
}
