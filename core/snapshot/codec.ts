/**
 * Snapshot text ⇄ `Snapshot`. Encoding is canonical JSON (keys sorted at every level),
 * so equal states encode to equal text and "nothing changed" is a string compare.
 * Decoding never throws: corrupt text and newer versions come back as values.
 */

import { canonicalJson } from './canonical.js';
import { Corrupt, collectingSkips, obj } from './check.js';
import { type DecodeResult, SNAPSHOT_VERSION, type Snapshot } from './types.js';
import { packV1, unpackV1 } from './v1.js';
import { packV2, unpackV2, upgradeV1 } from './v2.js';
import { packV3, unpackV3, upgradeV2 } from './v3.js';
import { packV4, unpackV4, upgradeV3 } from './v4.js';
import { packV5, unpackV5, upgradeV4 } from './v5.js';

export { canonicalJson };

export function encodeSnapshot(s: Snapshot): string {
  return canonicalJson(packV5(s));
}

export function decodeSnapshot(text: string): DecodeResult {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    return { ok: false, reason: 'corrupt', message: `snapshot is not valid JSON: ${why}` };
  }
  return migrate(raw);
}

function readVersion(raw: unknown): number {
  const o = obj(raw, '');
  const version = o.version;
  // Number.isSafeInteger is false for anything that is not a number.
  if (!Number.isSafeInteger(version) || (version as number) < 1) {
    const got = JSON.stringify(version) ?? 'nothing';
    throw new Corrupt(`version: expected an integer from 1 to ${SNAPSHOT_VERSION}, got ${got}`);
  }
  return version as number;
}

/** Any known version's raw record (parsed JSON) → the current `Snapshot`. */
export function migrate(raw: unknown): DecodeResult {
  try {
    const version = readVersion(raw);
    if (version > SNAPSHOT_VERSION) {
      return {
        ok: false,
        reason: 'newer',
        message:
          `snapshot version ${version} is newer than this shipote understands ` +
          `(${SNAPSHOT_VERSION}); upgrade shipote or move the file aside`,
      };
    }
    const { value: snapshot, skipped } = collectingSkips(() => unpackAny(version, raw));
    return { ok: true, snapshot, fromVersion: version, skipped };
  } catch (error) {
    if (error instanceof Corrupt) {
      return { ok: false, reason: 'corrupt', message: `snapshot is corrupt: ${error.message}` };
    }
    throw error;
  }
}

function unpackAny(version: number, raw: unknown): Snapshot {
  switch (version) {
    case 1:
      return upgradeV4(upgradeV3(upgradeV2(upgradeV1(unpackV1(raw)))));
    case 2:
      return upgradeV4(upgradeV3(upgradeV2(unpackV2(raw))));
    case 3:
      return upgradeV4(upgradeV3(unpackV3(raw)));
    case 4:
      return upgradeV4(unpackV4(raw));
    default:
      return unpackV5(raw);
  }
}

/** Older layouts, for fixtures and tests of the migration chain. */
export const packOlder = { v1: packV1, v2: packV2, v3: packV3, v4: packV4 } as const;
