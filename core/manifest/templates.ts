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

interface Budget {
  left: number;
}

/** `expandTemplates` that stops (null) before its output would pass the budget. */
function expandCounted(text: string, vars: Record<string, string>, budget: Budget): string | null {
  let out = '';
  let last = 0;
  for (const m of text.matchAll(PLACEHOLDER)) {
    const name = m[1] ?? '';
    const value = Object.hasOwn(vars, name) ? vars[name] : undefined;
    const piece = text.slice(last, m.index) + (typeof value === 'string' ? value : m[0]);
    budget.left -= piece.length;
    if (budget.left < 0) return null;
    out += piece;
    last = m.index + m[0].length;
  }
  const rest = text.slice(last);
  budget.left -= rest.length;
  return budget.left < 0 ? null : out + rest;
}

/**
 * `expandValue` with a budget on the characters of all expanded strings: a few `${A}` and
 * one large var could otherwise grow a 64 KiB spec into gigabytes. null when over budget.
 */
export function expandValueBounded(
  raw: unknown,
  vars: Record<string, string>,
  maxChars: number,
): { value: unknown } | null {
  const budget: Budget = { left: maxChars };
  const walk = (v: unknown): unknown => {
    if (budget.left < 0) return v;
    if (typeof v === 'string') return expandCounted(v, vars, budget) ?? '';
    if (Array.isArray(v)) return v.map(walk);
    if (v === null || typeof v !== 'object') return v;
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) return v;
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(v)) {
      Object.defineProperty(out, key, {
        value: walk(value),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  };
  const value = walk(raw);
  return budget.left < 0 ? null : { value };
}
