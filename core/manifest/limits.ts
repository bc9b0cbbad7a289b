/**
 * The size limits of what the control API accepts (docs/CONTRACT.md §1, §3). One home, so
 * the validators, the control server and the docs quote the same numbers. Each bounds the
 * work one request can cause: no spec may keep the daemon's event loop busy for long.
 */

export const LIMITS = {
  /** Characters of one workspace or pipeline TOML text. */
  specCharsMax: 65_536,
  /** `[[nodes]]` of one pipeline (each is a process with up to three pipes). */
  nodesMax: 128,
  /** `[[edges]]` of one pipeline. */
  edgesMax: 1024,
  /** Characters of a label (workspace, command, pipeline, node, saved pipeline name). */
  labelCharsMax: 63,
  /** Characters of all string values of a spec after `${VAR}` expansion. */
  expandedCharsMax: 262_144,
  /** Characters of all saved pipeline sources together (each is written in the snapshot). */
  savedCharsMax: 4 * 1024 * 1024,
  /** Workspaces at once. */
  workspacesMax: 1024,
  /** Bytes of one request body. */
  bodyBytesMax: 1024 * 1024,
} as const;

/**
 * The range of a log rotation setting (`logs.max_bytes`, `logs.keep` of a command, a
 * service, a pipeline or a node; docs/CONTRACT.md §5). 0 is always accepted: the daemon's
 * default (`SHIPOTE_LOG_MAX_BYTES`, `SHIPOTE_LOG_KEEP`).
 */
export const LOG_ROTATION_RANGES = {
  /** A file is rotated when it reaches this many bytes: one page to 1 TiB. */
  maxBytes: { min: 4096, max: 1024 ** 4 },
  /** Files kept per stream, the one being written included. */
  keep: { min: 1, max: 100 },
} as const;

/** null when `value` is 0 or within the setting's range; otherwise the expectation. */
export function logRotationProblem(
  name: keyof typeof LOG_ROTATION_RANGES,
  value: number,
): string | null {
  const { min, max } = LOG_ROTATION_RANGES[name];
  if (value === 0 || (value >= min && value <= max)) return null;
  return `expected 0 (the daemon's default) or ${min} to ${max}, got ${value}`;
}

/** The documented label alphabet: a letter or digit first, then letters, digits, `._-`. */
export const LABEL_PATTERN_TEXT = '[A-Za-z0-9][A-Za-z0-9._-]*';
const LABEL_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** null when `label` is a valid label; otherwise what is wrong with it, for an issue. */
export function labelProblem(label: string): string | null {
  if (label.length >= 1 && label.length <= LIMITS.labelCharsMax && LABEL_RE.test(label)) {
    return null;
  }
  const shown = label.length > 40 ? `${JSON.stringify(label.slice(0, 37))}...` : label;
  const got = label.length > 40 ? shown : JSON.stringify(label);
  return (
    `expected 1-${LIMITS.labelCharsMax} characters matching ${LABEL_PATTERN_TEXT}, ` +
    `got ${got} (${label.length} characters)`
  );
}

/** `N things; the limit is M (name)`, or null within the limit. */
export function overLimit(
  count: number,
  what: string,
  name: 'nodesMax' | 'edgesMax',
): string | null {
  const max = LIMITS[name];
  return count > max ? `${count} ${what}; the limit is ${max} (${name})` : null;
}
