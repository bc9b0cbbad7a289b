/** Argument-vector helpers for driving the CLI (test harnesses). */

/** `args` with `--json` added where the CLI reads options: before any `--`. */
export function withJsonFlag(args: readonly string[]): string[] {
  const dashes = args.indexOf('--');
  return dashes < 0
    ? [...args, '--json']
    : [...args.slice(0, dashes), '--json', ...args.slice(dashes)];
}
