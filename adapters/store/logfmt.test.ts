import { eventFromLine, formatEvent, parseLogfmt, quoteValue } from './logfmt.js';

const at = Date.UTC(2026, 10, 23, 11, 0, 0, 0);

describe('logfmt', () => {
  it.each([
    ['plain', 'plain'],
    ['two words', '"two words"'],
    ['', '""'],
    ['a=b', '"a=b"'],
    ['say "hi"', '"say \\"hi\\""'],
    ['line\nbreak', '"line\\nbreak"'],
    ['back\\slash', '"back\\\\slash"'],
    ['restart_max reached — giving up', '"restart_max reached — giving up"'],
  ])('quotes %j as %s', (value, quoted) => {
    expect(quoteValue(value)).toBe(quoted);
  });

  it('renders ts first as ISO time, then ev, then fields in order', () => {
    const line = formatEvent({
      wallMs: at,
      ev: 'give-up',
      fields: { ws: 'W', reason: 'restart_max reached — giving up', ok: false },
    });
    expect(line).toBe(
      'ts=2026-11-23T11:00:00.000Z ev=give-up ws=W ' +
        'reason="restart_max reached — giving up" ok=false',
    );
  });

  it('does not let a field named ts or ev shadow the real ones', () => {
    const line = formatEvent({ wallMs: at, ev: 'x', fields: { ts: 'bogus', ev: 'y' } });
    expect(line).toBe('ts=2026-11-23T11:00:00.000Z ev=x');
  });

  it('sanitises keys that would break the line', () => {
    expect(formatEvent({ wallMs: at, ev: 'x', fields: { 'a b=c': 1 } })).toBe(
      'ts=2026-11-23T11:00:00.000Z ev=x a_b_c=1',
    );
  });

  it('parses back what it formats', () => {
    const event = {
      wallMs: at,
      ev: 'breach',
      fields: { msg: 'memory: 12.00 MiB > 10.00 MiB limit', n: 3, quote: 'a "b"' },
    };
    expect(eventFromLine(formatEvent(event))).toEqual(event);
  });

  it('parses unquoted and quoted values side by side', () => {
    expect(parseLogfmt('a=1 b="x y" c=z')).toEqual({ a: '1', b: 'x y', c: 'z' });
  });

  it('rejects a line without ts or ev', () => {
    expect(eventFromLine('garbage line')).toBeNull();
    expect(eventFromLine('ts=notatime ev=x')).toBeNull();
  });
});
