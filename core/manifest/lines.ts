/**
 * Best-effort source lines for issue paths. Scans the TOML text line by line, tracking
 * the current table header (`[soma.rlimits]`, the n-th `[[nodes]]`), and returns the
 * line whose key path is the longest prefix of the issue path. Not a TOML parser: it only
 * has to be right for the ordinary layouts of the contract, and says nothing when unsure.
 */

type Segment = string | number;

/** `nodes[1].payload.Native.exec` → ['nodes', 1, 'payload', 'Native', 'exec']. */
export function pathSegments(path: string): Segment[] {
  const out: Segment[] = [];
  for (const part of path.split('.')) {
    const match = /^([^[\]]*)((?:\[\d+\])*)$/.exec(part);
    if (match === null) return [];
    if (match[1] !== '') out.push(match[1]!);
    for (const index of match[2]!.matchAll(/\[(\d+)\]/g)) out.push(Number(index[1]));
  }
  return out;
}

/** `a."b.c".d` → ['a', 'b.c', 'd']; null when it does not look like a key. */
function splitDottedKey(text: string): string[] | null {
  const keys: string[] = [];
  const re = /\s*(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|([A-Za-z0-9_-]+))\s*(\.|$)/y;
  let at = 0;
  while (at < text.length) {
    re.lastIndex = at;
    const m = re.exec(text);
    if (m === null) return null;
    keys.push(m[1] ?? m[2] ?? m[3] ?? '');
    at = re.lastIndex;
    if (m[4] === '') break;
  }
  return keys.length > 0 ? keys : null;
}

interface LineKey {
  line: number;
  segments: Segment[];
}

/** Every header and `key =` line with its full key path. */
function scanKeys(text: string): LineKey[] {
  const out: LineKey[] = [];
  const arrayCounts = new Map<string, number>();
  let header: Segment[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1;
    const bracket = raw.trimStart().startsWith('[');
    const arrayHeader = bracket ? /^\s*\[\[([^\]]+)\]\]\s*(#.*)?$/.exec(raw) : null;
    const tableHeader = bracket ? /^\s*\[([^\]]+)\]\s*(#.*)?$/.exec(raw) : null;
    if (arrayHeader !== null) {
      const keys = splitDottedKey(arrayHeader[1]!) ?? [];
      const name = keys.join('.');
      const count = arrayCounts.get(name) ?? 0;
      arrayCounts.set(name, count + 1);
      header = [...keys, count];
      out.push({ line, segments: header });
    } else if (tableHeader !== null) {
      header = splitDottedKey(tableHeader[1]!) ?? [];
      out.push({ line, segments: header });
    } else {
      const assign = /^\s*([^=#]+?)\s*=/.exec(raw);
      const keys = assign === null ? null : splitDottedKey(assign[1]!);
      if (keys !== null) out.push({ line, segments: [...header, ...keys] });
    }
  });
  return out;
}

/** One string per key path; numbers and strings stay apart (`[0]` is not `."0"`). */
function keyOf(segments: Segment[]): string {
  let key = '';
  for (const s of segments) key += typeof s === 'number' ? `[${s}]` : `.${JSON.stringify(s)}`;
  return key;
}

/**
 * Scans `text` once and answers every path from an index: O(text + depth) per lookup, so a
 * spec with thousands of issues costs one scan (a rescan per issue was quadratic).
 */
export function lineLocator(text: string): (path: string) => number | undefined {
  const firstLine = new Map<string, number>();
  for (const key of scanKeys(text)) {
    const k = keyOf(key.segments);
    if (key.segments.length > 0 && !firstLine.has(k)) firstLine.set(k, key.line);
  }
  return (path) => {
    const target = pathSegments(path);
    const prefixes: string[] = [];
    let key = '';
    for (const s of target) {
      key += keyOf([s]);
      prefixes.push(key);
    }
    for (let n = prefixes.length - 1; n >= 0; n--) {
      const line = firstLine.get(prefixes[n]!);
      if (line !== undefined) return line;
    }
    return undefined;
  };
}

/** 1-based line of the key that `path` names (or its nearest enclosing key), if found. */
export function findLine(text: string, path: string): number | undefined {
  return lineLocator(text)(path);
}
