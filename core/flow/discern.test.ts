import fc from 'fast-check';
import { discern, formatVerdict, utf8ValidLength } from './discern.js';

const enc = (text: string) => new TextEncoder().encode(text);
const raw = (...values: number[]) => Uint8Array.from(values);

const JSON_DOC = JSON.stringify({
  name: 'shipote',
  items: [1, 2.5, -3e2, true, false, null, 'a "quoted" \\ string \u00e9'],
  nested: { deep: { deeper: [[], {}] } },
});

const SAMPLES: [string, Uint8Array, string, string][] = [
  ['an empty sample', raw(), 'empty', 'application/x-empty'],
  ['a JSON array', enc('[1, 2, 3]'), 'json', 'application/json'],
  ['a larger JSON document', enc(JSON_DOC), 'json', 'application/json'],
  ['NDJSON', enc('{"a":1}\n{"a":2}\n{"a":3}\n'), 'ndjson', 'application/x-ndjson'],
  ['NDJSON cut mid-line', enc('{"a":1}\n{"a":2}\n{"a":'), 'ndjson', 'application/x-ndjson'],
  ['CSV', enc('name,age\nann,31\nbob,42\n'), 'csv', 'text/csv'],
  ['quoted CSV', enc('a,"b,c",d\n1,"2,3",4\n'), 'csv', 'text/csv'],
  ['TSV', enc('a\tb\tc\n1\t2\t3\n4\t5\t6\n'), 'tsv', 'text/tab-separated-values'],
  ['plain text', enc('hello world, this is a log line\n'), 'text', 'text/plain'],
  ['UTF-8 text', enc('héllo wörld ✓ ünïcode text here\n'), 'text', 'text/plain'],
  ['HTML', enc('<!DOCTYPE html><html><body>x</body></html>'), 'html', 'text/html'],
  ['an HTML fragment', enc('<div>\n<p>hi</p></div>'), 'html', 'text/html'],
  ['XML', enc('<?xml version="1.0"?><a><b/></a>'), 'xml', 'application/xml'],
  ['gzip', raw(0x1f, 0x8b, 8, 0, 0, 0), 'gzip', 'application/gzip'],
  ['zstd', raw(0x28, 0xb5, 0x2f, 0xfd, 0), 'zstd', 'application/zstd'],
  ['bzip2', enc('BZh91AY&SY'), 'bzip2', 'application/x-bzip2'],
  ['zip', raw(0x50, 0x4b, 3, 4, 20, 0), 'zip', 'application/zip'],
  ['png', raw(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0), 'png', 'image/png'],
  ['jpeg', raw(0xff, 0xd8, 0xff, 0xe0), 'jpeg', 'image/jpeg'],
  ['pdf', enc('%PDF-1.7\n'), 'pdf', 'application/pdf'],
  ['elf', raw(0x7f, 0x45, 0x4c, 0x46, 2, 1, 1), 'elf', 'application/x-elf'],
  ['bytes with NUL', raw(1, 2, 0, 3, 4), 'binary', 'application/octet-stream'],
  ['invalid UTF-8', raw(0x41, 0xc3, 0x28, 0x41), 'binary', 'application/octet-stream'],
  ['broken JSON', enc('{"a": 1,, }'), 'text', 'text/plain'],
];

describe('discern', () => {
  it('calls a small JSON document json with 0.95 confidence', () => {
    expect(discern(enc('{"hello": 1}\n'))).toEqual({
      ty: 'json',
      mime: 'application/json',
      confPermille: 950,
    });
  });

  it.each(SAMPLES)('recognises %s', (_name, sample, ty, mime) => {
    const v = discern(sample);
    expect([v.ty, v.mime]).toEqual([ty, mime]);
    expect(v.confPermille).toBeGreaterThan(0);
    expect(v.confPermille).toBeLessThanOrEqual(1000);
  });

  it('still calls JSON cut at any point json, with lower confidence', () => {
    const doc = enc(JSON_DOC);
    for (let cut = 1; cut < doc.length; cut++) {
      const v = discern(doc.subarray(0, cut));
      expect([cut, v.ty]).toEqual([cut, 'json']);
      expect(v.confPermille).toBeLessThan(950);
    }
  });

  it('tolerates a multi-byte character cut by the end of the sample', () => {
    const text = enc('plain text with an é');
    const v = discern(text.subarray(0, text.length - 1));
    expect(v.ty).toBe('text');
  });

  it('gives a verdict with an integer confidence for any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (sample) => {
        const v = discern(sample);
        expect(Number.isInteger(v.confPermille)).toBe(true);
        expect(v.ty).not.toBe('');
        expect(v.mime).toMatch(/^[a-z]+\/[a-z0-9.+-]+$/);
      }),
      { numRuns: 1000 },
    );
  });

  it('calls any JSON value serialised as an object or array json or a prefix of it json', () => {
    const doc = fc.oneof(fc.array(fc.jsonValue()), fc.dictionary(fc.string(), fc.jsonValue()));
    fc.assert(
      fc.property(doc, fc.nat(), (value, cutSeed) => {
        const bytes = enc(JSON.stringify(value));
        const cut = 1 + (cutSeed % bytes.length);
        expect(discern(bytes).ty).toBe('json');
        expect(discern(bytes.subarray(0, cut)).ty).toMatch(/^(json|text)$/);
      }),
      { numRuns: 500 },
    );
  });
});

describe('utf8ValidLength', () => {
  it.each([
    [raw(0x61, 0x62), 2],
    [raw(0x61, 0xc3), 1],
    [raw(0x61, 0xe2, 0x9c), 1],
    [raw(0xc3, 0xa9), 2],
    [raw(0xff), -1],
    [raw(0xc3, 0x41), -1],
  ])('measures %p as %i', (sample, want) => {
    expect(utf8ValidLength(sample)).toBe(want);
  });
});

describe('formatVerdict', () => {
  it.each([
    [950, 'conf=0.95'],
    [1000, 'conf=1.00'],
    [875, 'conf=0.88'],
    [5, 'conf=0.01'],
    [0, 'conf=0.00'],
  ])('prints %i per-mille as %s', (confPermille, conf) => {
    const text = formatVerdict({ ty: 'json', mime: 'application/json', confPermille }, 'edge');
    expect(text).toBe(`edge ty=json mime=application/json ${conf}`);
  });
});
