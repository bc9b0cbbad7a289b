/**
 * `${NAME}` templating. Applied to string VALUES after the TOML is parsed, so a value can
 * never inject TOML syntax. A placeholder without a value stays as written.
 */

const PLACEHOLDER = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

export function expandTemplates(text: string, vars: Record<string, string>): string {
  return text.replace(PLACEHOLDER, (whole, name: string) => {
    if (!Object.hasOwn(vars, name)) return whole;
    const value = vars[name];
    return typeof value === 'string' ? value : whole;
  });
}

/** Deep copy of `raw` with every string value expanded; keys are left alone. */
export function expandValue(raw: unknown, vars: Record<string, string>): unknown {
  if (typeof raw === 'string') return expandTemplates(raw, vars);
  if (Array.isArray(raw)) return raw.map((item) => expandValue(item, vars));
  if (raw !== null && typeof raw === 'object') {
    const proto = Object.getPrototypeOf(raw);
    if (proto !== Object.prototype && proto !== null) return raw;
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(raw)) {
      Object.defineProperty(out, key, {
        value: expandValue(value, vars),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  return raw;
}
