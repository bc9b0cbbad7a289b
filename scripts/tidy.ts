/**
 * Tidy: the style rules a formatter cannot enforce, checked so they fail the build.
 *
 * - Lines are at most 100 characters (code points). A line containing a URL is exempt: a URL
 *   cannot be broken.
 * - Functions are at most 70 lines, counted over the body (first to last line, inclusive).
 *   Every function is measured on its own, nested ones included. In test files the callbacks
 *   passed straight to describe/it/test/before…/after… are exempt: they are test tables, not
 *   logic.
 *
 * Known violations live in `scripts/tidy-allow.json`, a ratchet: anything not listed fails,
 * and an entry that no longer matches fails too, so the list only shrinks.
 *
 * The core (`checkSource`, `applyAllowList`) takes strings, not paths, so it is tested on
 * small in-memory sources. Ref: tigerbeetle `src/tidy.zig`.
 *
 * Usage: `npx tsx scripts/tidy.ts [--all | --suggest-allow]`. `--all` ignores the allow list;
 * `--suggest-allow` prints the allow list that would tolerate every current violation.
 */

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

export const LINE_CHARS_MAX = 100;
export const FUNCTION_LINES_MAX = 70;

export type Violation =
  | { kind: 'line'; path: string; line: number; chars: number }
  | { kind: 'function'; path: string; line: number; name: string; lines: number };

/** Which rules apply to a file: C++ gets line length only. */
export type Rules = { lineLength: boolean; functionLength: boolean };

export type AllowList = {
  /** A function-length violation tolerated by path and function name. */
  functions: { path: string; name: string }[];
  /** Exactly `count` over-long lines tolerated in `path`. */
  lines: { path: string; count: number }[];
};

export type Ratchet = { unexpected: Violation[]; allowed: Violation[]; stale: string[] };

const URL_PATTERN = /https?:\/\//;
const TEST_FILE = /\.test\.(ts|mjs)$/;
const TEST_CALLS = new Set([
  'describe',
  'it',
  'test',
  'beforeAll',
  'beforeEach',
  'afterAll',
  'afterEach',
]);

const TS_DIRS = ['core', 'adapters', 'sim', 'bench', 'e2e', 'testing', 'stress', 'scripts', 'bin'];
const TS_FILE = /\.(ts|mjs)$/;
const CPP_DIRS = ['native'];
const CPP_FILE = /\.(cc|cpp|h)$/;

export function formatViolation(v: Violation): string {
  if (v.kind === 'line') {
    return `${v.path}:${v.line}: line is ${v.chars} chars (max ${LINE_CHARS_MAX})`;
  }
  const size = `${v.lines} lines (max ${FUNCTION_LINES_MAX})`;
  return `${v.path}:${v.line}: function '${v.name}' is ${size}`;
}

/** Over-long lines of `text`, in order. */
export function checkLines(path: string, text: string): Violation[] {
  const out: Violation[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.length <= LINE_CHARS_MAX) return; // UTF-16 length bounds the code point count
    const chars = [...line].length;
    if (chars > LINE_CHARS_MAX && !URL_PATTERN.test(line)) {
      out.push({ kind: 'line', path, line: index + 1, chars });
    }
  });
  return out;
}

type FunctionNode =
  | ts.FunctionDeclaration
  | ts.FunctionExpression
  | ts.ArrowFunction
  | ts.MethodDeclaration
  | ts.ConstructorDeclaration
  | ts.GetAccessorDeclaration
  | ts.SetAccessorDeclaration;

function isFunctionNode(node: ts.Node): node is FunctionNode {
  return (
    ts.isFunctionDeclaration(node) ||
    ts.isFunctionExpression(node) ||
    ts.isArrowFunction(node) ||
    ts.isMethodDeclaration(node) ||
    ts.isConstructorDeclaration(node) ||
    ts.isGetAccessorDeclaration(node) ||
    ts.isSetAccessorDeclaration(node)
  );
}

function propertyName(name: ts.PropertyName | ts.BindingName, sf: ts.SourceFile): string {
  if (ts.isIdentifier(name) || ts.isPrivateIdentifier(name)) return name.text;
  if (ts.isStringLiteral(name) || ts.isNumericLiteral(name)) return name.text;
  return name.getText(sf);
}

/** `Class.` or `object.` for a member, when the owner has a name. */
function ownerPrefix(node: ts.Node, sf: ts.SourceFile): string {
  const owner = node.parent;
  if ((ts.isClassDeclaration(owner) || ts.isClassExpression(owner)) && owner.name) {
    return `${owner.name.text}.`;
  }
  if (ts.isObjectLiteralExpression(owner) && ts.isVariableDeclaration(owner.parent)) {
    return `${propertyName(owner.parent.name, sf)}.`;
  }
  return '';
}

function calleeText(call: ts.CallExpression, sf: ts.SourceFile): string {
  const text = call.expression.getText(sf).replace(/\s+/g, ' ');
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

/** A readable, stable name: the allow list matches on it. */
export function functionName(node: FunctionNode, sf: ts.SourceFile): string {
  if (ts.isConstructorDeclaration(node)) return `${ownerPrefix(node, sf)}constructor`;
  if (!ts.isArrowFunction(node) && node.name) {
    return ts.isFunctionDeclaration(node) || ts.isFunctionExpression(node)
      ? node.name.text
      : `${ownerPrefix(node, sf)}${propertyName(node.name, sf)}`;
  }
  const parent = node.parent;
  if (ts.isVariableDeclaration(parent)) return propertyName(parent.name, sf);
  if (ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent)) {
    return `${ownerPrefix(parent, sf)}${propertyName(parent.name, sf)}`;
  }
  if (ts.isCallExpression(parent)) return `${calleeText(parent, sf)} callback`;
  if (ts.isFunctionDeclaration(node) || ts.isExportAssignment(parent)) return 'default';
  return '<anonymous>';
}

/** The identifiers a callee starts from: `it.each(t)` → it, `(c ? it.skip : it)` → it, it. */
function calleeRoots(expr: ts.Expression): string[] {
  if (ts.isIdentifier(expr)) return [expr.text];
  if (ts.isPropertyAccessExpression(expr) || ts.isElementAccessExpression(expr)) {
    return calleeRoots(expr.expression);
  }
  if (ts.isCallExpression(expr) || ts.isParenthesizedExpression(expr)) {
    return calleeRoots(expr.expression);
  }
  if (ts.isTaggedTemplateExpression(expr)) return calleeRoots(expr.tag);
  if (ts.isConditionalExpression(expr)) {
    return [...calleeRoots(expr.whenTrue), ...calleeRoots(expr.whenFalse)];
  }
  return [];
}

/** describe/it/… plus local aliases of them (`const maybe = why ? describe.skip : describe`). */
function testCallNames(sf: ts.SourceFile): Set<string> {
  const names = new Set(TEST_CALLS);
  const aliases: [string, ts.Expression][] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.initializer) {
      aliases.push([node.name.text, node.initializer]);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [name, init] of aliases) {
      if (!names.has(name) && calleeRoots(init).some((root) => names.has(root))) {
        names.add(name);
        grew = true;
      }
    }
  }
  return names;
}

function isTestCallback(node: FunctionNode, testCalls: Set<string>): boolean {
  const parent = node.parent;
  if (!ts.isCallExpression(parent) || !parent.arguments.some((a) => a === node)) return false;
  return calleeRoots(parent.expression).some((root) => testCalls.has(root));
}

function scriptKind(path: string): ts.ScriptKind {
  return /\.(mjs|cjs|js)$/.test(path) ? ts.ScriptKind.JS : ts.ScriptKind.TS;
}

/** Functions whose body spans more than 70 lines, in source order. */
export function checkFunctions(path: string, text: string): Violation[] {
  const sf = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true, scriptKind(path));
  const testCalls = TEST_FILE.test(path) ? testCallNames(sf) : new Set<string>();
  const lineOf = (pos: number) => sf.getLineAndCharacterOfPosition(pos).line + 1;
  const out: Violation[] = [];
  const visit = (node: ts.Node): void => {
    if (isFunctionNode(node) && node.body && !isTestCallback(node, testCalls)) {
      const lines = lineOf(node.body.getEnd()) - lineOf(node.body.getStart(sf)) + 1;
      if (lines > FUNCTION_LINES_MAX) {
        const line = lineOf(node.getStart(sf));
        out.push({ kind: 'function', path, line, name: functionName(node, sf), lines });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** Every violation in one source, sorted by line. */
export function checkSource(path: string, text: string, rules?: Partial<Rules>): Violation[] {
  const { lineLength = true, functionLength = true } = rules ?? {};
  const out = [
    ...(lineLength ? checkLines(path, text) : []),
    ...(functionLength ? checkFunctions(path, text) : []),
  ];
  return out.sort((a, b) => a.line - b.line || a.kind.localeCompare(b.kind));
}

/** Which rules apply to a repo-relative path, or null when tidy does not look at it. */
export function rulesFor(path: string): Rules | null {
  const top = path.split('/')[0] ?? '';
  if (TS_DIRS.includes(top) && TS_FILE.test(path)) {
    return { lineLength: true, functionLength: true };
  }
  if (CPP_DIRS.includes(top) && CPP_FILE.test(path)) {
    return { lineLength: true, functionLength: false };
  }
  return null;
}

/** Tracked plus untracked-but-not-ignored files, repo-relative, sorted. */
export function repoFiles(root: string): string[] {
  const out = execFileSync('git', ['ls-files', '-co', '--exclude-standard', '-z'], {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  return [...new Set(out.split('\0').filter((p) => p !== ''))].sort();
}

function readIfPresent(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    // A tracked file deleted in the work tree (or removed mid-scan) has nothing to check.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

export function checkRepo(root: string): Violation[] {
  const out: Violation[] = [];
  for (const path of repoFiles(root)) {
    const rules = rulesFor(path);
    const text = rules && readIfPresent(join(root, path));
    if (rules && text !== null) out.push(...checkSource(path, text, rules));
  }
  return out;
}

/** Splits violations into tolerated and new, and names allow entries that no longer match. */
export function applyAllowList(violations: Violation[], allow: AllowList): Ratchet {
  const ratchet: Ratchet = { unexpected: [], allowed: [], stale: [] };
  const fnKey = (path: string, name: string) => `${path}\0${name}`;
  const fnAllowed = new Set(allow.functions.map((e) => fnKey(e.path, e.name)));
  const fnSeen = new Set<string>();
  const linesAllowed = new Map(allow.lines.map((e) => [e.path, e.count]));
  const linesSeen = new Map<string, number>();
  for (const v of violations) {
    if (v.kind === 'line') linesSeen.set(v.path, (linesSeen.get(v.path) ?? 0) + 1);
  }
  for (const v of violations) {
    const ok =
      v.kind === 'function'
        ? fnAllowed.has(fnKey(v.path, v.name))
        : (linesSeen.get(v.path) ?? 0) <= (linesAllowed.get(v.path) ?? 0);
    if (v.kind === 'function' && ok) fnSeen.add(fnKey(v.path, v.name));
    (ok ? ratchet.allowed : ratchet.unexpected).push(v);
  }
  for (const e of allow.functions) {
    if (!fnSeen.has(fnKey(e.path, e.name))) {
      ratchet.stale.push(`function '${e.name}' in ${e.path} is within limits now: drop it`);
    }
  }
  for (const e of allow.lines) {
    const seen = linesSeen.get(e.path) ?? 0;
    if (seen < e.count) {
      ratchet.stale.push(`${e.path} has ${seen} long lines, allowed ${e.count}: lower it`);
    }
  }
  return ratchet;
}

export function parseAllowList(text: string): AllowList {
  const raw = JSON.parse(text) as Partial<AllowList>;
  return { functions: raw.functions ?? [], lines: raw.lines ?? [] };
}

/** The allow list that tolerates exactly `violations` (for the lead to review, not to paste). */
export function suggestAllowList(violations: Violation[]): AllowList {
  const byPath = (a: { path: string }, b: { path: string }) => a.path.localeCompare(b.path);
  const functions = new Map<string, { path: string; name: string }>();
  const lines = new Map<string, number>();
  for (const v of violations) {
    if (v.kind === 'function')
      functions.set(`${v.path}\0${v.name}`, { path: v.path, name: v.name });
    else lines.set(v.path, (lines.get(v.path) ?? 0) + 1);
  }
  return {
    functions: [...functions.values()].sort((a, b) => byPath(a, b) || a.name.localeCompare(b.name)),
    lines: [...lines].map(([path, count]) => ({ path, count })).sort(byPath),
  };
}

/** The ratchet's message: new violations, then stale allow entries; '' when clean. */
export function formatRatchet(ratchet: Ratchet): string {
  const out = ratchet.unexpected.map(formatViolation);
  if (ratchet.stale.length > 0) {
    out.push('scripts/tidy-allow.json has stale entries (the list only shrinks):');
    out.push(...ratchet.stale.map((s) => `  ${s}`));
  }
  return out.join('\n');
}

export const REPO_ROOT = resolve(fileURLToPath(import.meta.url), '..', '..');
export const ALLOW_PATH = 'scripts/tidy-allow.json';

export function loadAllowList(root: string): AllowList {
  return parseAllowList(readFileSync(join(root, ALLOW_PATH), 'utf8'));
}

function main(argv: string[]): number {
  const all = argv.includes('--all');
  const violations = checkRepo(REPO_ROOT);
  if (argv.includes('--suggest-allow')) {
    process.stdout.write(`${JSON.stringify(suggestAllowList(violations), null, 2)}\n`);
    return 0;
  }
  const empty: AllowList = { functions: [], lines: [] };
  const ratchet = applyAllowList(violations, all ? empty : loadAllowList(REPO_ROOT));
  for (const v of ratchet.allowed) process.stdout.write(`${formatViolation(v)} (allowed)\n`);
  const report = formatRatchet(ratchet);
  if (report !== '') process.stdout.write(`${report}\n`);
  const summary =
    `tidy: ${violations.length} violations, ${ratchet.allowed.length} allowed, ` +
    `${ratchet.unexpected.length} new, ${ratchet.stale.length} stale allow entries`;
  process.stderr.write(`${summary}\n`);
  return report === '' ? 0 : 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = main(process.argv.slice(2));
}
