// biome-ignore-all lint/suspicious/noTemplateCurlyInString: placeholders are under test
import fc from 'fast-check';
import { expandTemplates, expandValue } from './templates.js';

describe('expandTemplates', () => {
  it.each([
    ['${A}', { A: 'x' }, 'x'],
    ['pre-${A}-${B}-post', { A: '1', B: '2' }, 'pre-1-2-post'],
    ['${A}${A}', { A: 'z' }, 'zz'],
    ['${MISSING}', { A: 'x' }, '${MISSING}'],
    ['$A ${ A } ${1A}', { A: 'x' }, '$A ${ A } ${1A}'],
    ['${A}', { A: '${B}', B: 'no' }, '${B}'],
    ['${toString}', {}, '${toString}'],
  ])('expands %j with %j to %j', (text, vars, want) => {
    expect(expandTemplates(text, vars)).toBe(want);
  });

  it('is the identity without vars', () => {
    fc.assert(fc.property(fc.string(), (text) => expandTemplates(text, {}) === text));
  });

  it('leaves placeholders without a value intact', () => {
    const name = fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,8}$/);
    fc.assert(
      fc.property(name, fc.string(), fc.string(), (n, before, after) => {
        const text = `${before}\${${n}}${after}`;
        const expanded = expandTemplates(text, { [`${n}_OTHER`]: 'v' });
        expect(expanded.includes(`\${${n}}`)).toBe(true);
      }),
    );
  });
});

describe('expandValue', () => {
  it('expands nested string values and leaves keys and other types alone', () => {
    const raw = { '${K}': ['${K}', 1, true, { deep: '${K}' }], n: null };
    expect(expandValue(raw, { K: 'v' })).toEqual({
      '${K}': ['v', 1, true, { deep: 'v' }],
      n: null,
    });
  });

  it('is the identity without vars on any JSON value', () => {
    fc.assert(fc.property(fc.jsonValue(), (raw) => expect(expandValue(raw, {})).toEqual(raw)));
  });

  it('keeps a __proto__ key as plain data', () => {
    const raw = JSON.parse('{"__proto__": {"polluted": "${X}"}}') as unknown;
    const out = expandValue(raw, { X: 'yes' }) as Record<string, unknown>;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.keys(out)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
