/**
 * Content sniffing for tapped edges: a verdict (`ty`, `mime`, integer per-mille
 * confidence) from the first `sample_bytes` of a stream. Magic numbers first, then
 * text/binary, then the shape of the text. A sample may be cut anywhere, so a document
 * that is a valid prefix still counts, with lower confidence.
 */

import { scanJson } from './jsonscan.js';

export interface Verdict {
  ty: string;
  mime: string;
  confPermille: number;
}

interface Magic {
  ty: string;
  mime: string;
  bytes: number[];
}

const MAGICS: readonly Magic[] = [
  { ty: 'gzip', mime: 'application/gzip', bytes: [0x1f, 0x8b] },
  { ty: 'zstd', mime: 'application/zstd', bytes: [0x28, 0xb5, 0x2f, 0xfd] },
  { ty: 'bzip2', mime: 'application/x-bzip2', bytes: [0x42, 0x5a, 0x68] },
  { ty: 'zip', mime: 'application/zip', bytes: [0x50, 0x4b, 0x03, 0x04] },
  { ty: 'zip', mime: 'application/zip', bytes: [0x50, 0x4b, 0x05, 0x06] },
  { ty: 'png', mime: 'image/png', bytes: [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a] },
  { ty: 'jpeg', mime: 'image/jpeg', bytes: [0xff, 0xd8, 0xff] },
  { ty: 'pdf', mime: 'application/pdf', bytes: [0x25, 0x50, 0x44, 0x46, 0x2d] },
  { ty: 'elf', mime: 'application/x-elf', bytes: [0x7f, 0x45, 0x4c, 0x46] },
];

const TEXT_MIME: Record<string, string> = {
  json: 'application/json',
  ndjson: 'application/x-ndjson',
  csv: 'text/csv',
  tsv: 'text/tab-separated-values',
  text: 'text/plain',
  html: 'text/html',
  xml: 'application/xml',
};

function verdict(ty: string, confPermille: number): Verdict {
  return { ty, mime: TEXT_MIME[ty] ?? 'application/octet-stream', confPermille };
}

function startsWith(sample: Uint8Array, bytes: number[]): boolean {
  return sample.length >= bytes.length && bytes.every((b, i) => sample[i] === b);
}

/**
 * Length of the longest prefix that is valid UTF-8 allowing a sequence cut by the end of
 * the sample; -1 when an invalid sequence appears before the end.
 */
export function utf8ValidLength(sample: Uint8Array): number {
  let i = 0;
  while (i < sample.length) {
    const b = sample[i]!;
    const need = b < 0x80 ? 0 : b >= 0xc2 && b <= 0xdf ? 1 : b >= 0xe0 && b <= 0xef ? 2 : -1;
    const need4 = b >= 0xf0 && b <= 0xf4 ? 3 : need;
    if (need4 < 0) return -1;
    for (let k = 1; k <= need4; k++) {
      if (i + k >= sample.length) return i;
      const c = sample[i + k]!;
      if (c < 0x80 || c > 0xbf) return -1;
    }
    i += need4 + 1;
  }
  return i;
}

/** Control characters other than tab, LF, CR, FF, ESC, per-mille of the bytes. */
function controlPermille(sample: Uint8Array): number {
  let count = 0;
  for (const b of sample) {
    if ((b < 0x20 && b !== 9 && b !== 10 && b !== 13 && b !== 12 && b !== 27) || b === 127) {
      count++;
    }
  }
  return Math.floor((count * 1000) / Math.max(1, sample.length));
}

export function discern(sample: Uint8Array): Verdict {
  if (sample.length === 0) return { ty: 'empty', mime: 'application/x-empty', confPermille: 1000 };
  for (const magic of MAGICS) {
    if (startsWith(sample, magic.bytes)) {
      const confPermille = magic.bytes.length >= 4 ? 990 : 900;
      return { ty: magic.ty, mime: magic.mime, confPermille };
    }
  }
  const validLength = utf8ValidLength(sample);
  if (validLength < 0 || sample.includes(0) || controlPermille(sample) > 50) {
    return verdict('binary', sample.includes(0) ? 900 : 700);
  }
  let text = new TextDecoder('utf-8').decode(sample.subarray(0, validLength));
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  return discernText(text);
}

function discernText(text: string): Verdict {
  const trimmed = text.trimStart();
  if (trimmed === '') return verdict('text', 600);
  const first = trimmed[0];
  if (first === '{' || first === '[') {
    const json = discernJson(trimmed);
    if (json !== null) return json;
  }
  if (first === '<') {
    const markup = discernMarkup(trimmed);
    if (markup !== null) return markup;
  }
  const table = discernTable(text);
  if (table !== null) return table;
  return verdict('text', text.length >= 16 ? 800 : 600);
}

function discernJson(text: string): Verdict | null {
  const whole = scanJson(text);
  if (whole === 'complete') return verdict('json', 950);
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  if (lines.length >= 2) {
    const last = lines.length - 1;
    const shapes = lines.map((line) => scanJson(line));
    const completeBefore = shapes.slice(0, last).every((shape) => shape === 'complete');
    const lastShape = shapes[last];
    if (completeBefore && lastShape === 'complete') return verdict('ndjson', 900);
    if (completeBefore && lastShape === 'prefix') return verdict('ndjson', 850);
  }
  if (whole === 'prefix') return verdict('json', text.length >= 64 ? 800 : 700);
  return null;
}

function discernMarkup(text: string): Verdict | null {
  const head = text.slice(0, 512).toLowerCase();
  if (head.startsWith('<!doctype html') || head.startsWith('<html')) return verdict('html', 950);
  if (head.startsWith('<?xml')) {
    return head.includes('<html') ? verdict('html', 850) : verdict('xml', 950);
  }
  if (/<(head|body|div|p|script|title)[\s>]/.test(head)) return verdict('html', 750);
  if (/^<[A-Za-z_][\w:.-]*[\s/>]/.test(text) && text.includes('</')) return verdict('xml', 650);
  return null;
}

/** Fields of one line split on `sep`, honouring double quotes (CSV-style). */
function countFields(line: string, sep: string): number {
  let fields = 1;
  let quoted = false;
  for (const c of line) {
    if (c === '"') quoted = !quoted;
    else if (c === sep && !quoted) fields++;
  }
  return fields;
}

function discernTable(text: string): Verdict | null {
  let lines = text.split(/\r?\n/);
  // The last line may be cut by the sample end, or empty after a final newline.
  if (lines.length > 2) lines = lines.slice(0, -1);
  lines = lines.filter((line) => line !== '');
  if (lines.length < 2) return null;
  for (const [ty, sep] of [
    ['tsv', '\t'],
    ['csv', ','],
  ] as const) {
    const counts = lines.map((line) => countFields(line, sep));
    const n = counts[0]!;
    if (n >= 2 && counts.every((count) => count === n)) {
      return verdict(ty, lines.length >= 4 ? 900 : 750);
    }
  }
  return null;
}

/** `edge ty=json mime=application/json conf=0.95`. */
export function formatVerdict(v: Verdict, edgeName: string): string {
  const hundredths = Math.round(v.confPermille / 10);
  const conf = `${Math.floor(hundredths / 100)}.${String(hundredths % 100).padStart(2, '0')}`;
  return `${edgeName} ty=${v.ty} mime=${v.mime} conf=${conf}`;
}
