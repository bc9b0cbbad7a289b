/** The seed's trace: one line per operation and world event, kept only when enabled. */

export class Trace {
  readonly lines: string[] = [];

  constructor(
    readonly enabled: boolean,
    private readonly nowMs: () => number,
    private readonly echo: ((line: string) => void) | null = null,
  ) {}

  add(what: () => string): void {
    if (!this.enabled) return;
    const line = `t=${String(this.nowMs()).padStart(7)} ${what()}`;
    this.lines.push(line);
    this.echo?.(line);
  }
}
