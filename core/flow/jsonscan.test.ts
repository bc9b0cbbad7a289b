import fc from 'fast-check';
import { scanJson } from './jsonscan.js';

describe('scanJson', () => {
  it.each([
    ['{}', 'complete'],
    ['[1, "a", true, null, {"k": [2.5e-3]}]', 'complete'],
    ['{"a": 1}  \n', 'complete'],
    ['{"a": 1', 'prefix'],
    ['{"a": "unterminated', 'prefix'],
    ['{"a": tr', 'prefix'],
    ['[1.', 'prefix'],
    ['{"a"', 'prefix'],
    ['{"a": 1}{"b": 2}', 'invalid'],
    ['{"a": 1,}', 'invalid'],
    ['[01]', 'invalid'],
    ['{a: 1}', 'invalid'],
    ['[1 2]', 'invalid'],
    ['{"a": nope}', 'invalid'],
    ['["tab\there"]', 'invalid'],
    ['}', 'invalid'],
  ])('classifies %j as %s', (text, want) => {
    expect(scanJson(text)).toBe(want);
  });

  it('agrees with JSON.parse on whole documents', () => {
    fc.assert(
      fc.property(fc.oneof(fc.array(fc.jsonValue()), fc.object()), (value) => {
        expect(scanJson(JSON.stringify(value))).toBe('complete');
      }),
    );
  });

  it('calls every proper prefix of a document a prefix', () => {
    fc.assert(
      fc.property(fc.array(fc.jsonValue(), { minLength: 1 }), fc.nat(), (value, seed) => {
        const text = JSON.stringify(value);
        const cut = 1 + (seed % (text.length - 1));
        expect(scanJson(text.slice(0, cut))).toBe('prefix');
      }),
    );
  });
});
