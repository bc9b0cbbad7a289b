/**
 * Checks whether text is a complete JSON document, a valid prefix of one (a sample cut
 * mid-document), or neither. A small pushdown scanner; no allocation per token.
 */

export type JsonShape = 'complete' | 'prefix' | 'invalid';

type Expect = 'value' | 'valueOrEnd' | 'keyOrEnd' | 'key' | 'colon' | 'commaOrEnd' | 'done';

const NUMBER_FULL = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;
const NUMBER_PREFIX = /^-?(0|[1-9]\d*)?(\.\d*)?([eE][+-]?\d*)?$/;
const LITERALS = ['true', 'false', 'null'] as const;

interface Scan {
  text: string;
  at: number;
  stack: ('obj' | 'arr')[];
  expect: Expect;
}

function isSpace(c: string): boolean {
  return c === ' ' || c === '\n' || c === '\r' || c === '\t';
}

/** Skip a string starting at its opening quote. Returns false at end of text. */
function skipString(s: Scan): boolean | 'bad' {
  let i = s.at + 1;
  while (i < s.text.length) {
    const c = s.text.charCodeAt(i);
    if (c === 0x22) {
      s.at = i + 1;
      return true;
    }
    if (c < 0x20) return 'bad';
    i += c === 0x5c ? 2 : 1;
  }
  s.at = s.text.length;
  return false;
}

/** Skip a number or literal; 'end' when the input stops inside a valid prefix. */
function skipAtom(s: Scan): 'ok' | 'end' | 'bad' {
  let i = s.at;
  while (i < s.text.length && /[0-9a-zA-Z+\-.]/.test(s.text[i]!)) i++;
  const atom = s.text.slice(s.at, i);
  s.at = i;
  const atEnd = i >= s.text.length;
  const isLiteral = (LITERALS as readonly string[]).includes(atom);
  if (isLiteral || NUMBER_FULL.test(atom)) return atEnd && !isLiteral ? 'end' : 'ok';
  if (atEnd && (NUMBER_PREFIX.test(atom) || LITERALS.some((lit) => lit.startsWith(atom)))) {
    return 'end';
  }
  return 'bad';
}

function afterValue(s: Scan): void {
  s.expect = s.stack.length === 0 ? 'done' : 'commaOrEnd';
}

function close(s: Scan, kind: 'obj' | 'arr'): boolean {
  if (s.stack[s.stack.length - 1] !== kind) return false;
  s.stack.pop();
  afterValue(s);
  return true;
}

/** One token; false on a syntax error, 'end' when the input ran out inside a token. */
function stepToken(s: Scan, c: string): boolean | 'end' {
  const e = s.expect;
  if (c === ',' && e === 'commaOrEnd') {
    s.expect = s.stack[s.stack.length - 1] === 'obj' ? 'key' : 'value';
    s.at++;
    return true;
  }
  if (c === ':' && e === 'colon') {
    s.expect = 'value';
    s.at++;
    return true;
  }
  if (c === '}' && (e === 'keyOrEnd' || e === 'commaOrEnd')) {
    s.at++;
    return close(s, 'obj');
  }
  if (c === ']' && (e === 'valueOrEnd' || e === 'commaOrEnd')) {
    s.at++;
    return close(s, 'arr');
  }
  if (c === '"' && (e === 'key' || e === 'keyOrEnd')) {
    const r = skipString(s);
    if (r === 'bad') return false;
    s.expect = 'colon';
    return r ? true : 'end';
  }
  if (e !== 'value' && e !== 'valueOrEnd') return false;
  if (c === '{' || c === '[') {
    s.stack.push(c === '{' ? 'obj' : 'arr');
    s.expect = c === '{' ? 'keyOrEnd' : 'valueOrEnd';
    s.at++;
    return true;
  }
  if (c === '"') {
    const r = skipString(s);
    if (r === 'bad') return false;
    afterValue(s);
    return r ? true : 'end';
  }
  const r = skipAtom(s);
  if (r === 'bad') return false;
  afterValue(s);
  return r === 'ok' ? true : 'end';
}

export function scanJson(text: string): JsonShape {
  const s: Scan = { text, at: 0, stack: [], expect: 'value' };
  while (s.at < text.length) {
    const c = text[s.at]!;
    if (isSpace(c)) {
      s.at++;
      continue;
    }
    if (s.expect === 'done') return 'invalid';
    const r = stepToken(s, c);
    if (r === false) return 'invalid';
    if (r === 'end') return 'prefix';
  }
  return s.expect === 'done' ? 'complete' : 'prefix';
}
