import { createHash } from 'node:crypto';
import { parseIntegrity, StoreError, type HashAlgorithm } from '../store/index.js';
import type { InputSpec } from '../recipe/types.js';
import { hexDigestsOfSri } from '../util/integrity.js';
import { inputError } from './errors.js';

/** Refuses an unusable SRI before any network or disk work. */
export function assertUsableIntegrity(spec: InputSpec): void {
  try {
    parseIntegrity(spec.integrity);
  } catch (err) {
    if (!(err instanceof StoreError)) throw err;
    throw inputError(spec, 'KILN_FETCH_BAD_INTEGRITY', `integrity ${JSON.stringify(spec.integrity)} is not a sha256, sha384 or sha512 SRI`, {
      cause: err,
    });
  }
}

/**
 * Checks small in-memory bytes (a folder's manifest) against the input's SRI: every algorithm
 * named must match, as the store does for streamed bytes.
 */
export function checkSRI(spec: InputSpec, bytes: Uint8Array): void {
  const { expected } = parseIntegrity(spec.integrity);
  const found: string[] = [];
  let ok = true;
  for (const [algorithm, accepted] of expected as Map<HashAlgorithm, Buffer[]>) {
    const digest = createHash(algorithm).update(bytes).digest();
    found.push(`${algorithm}-${digest.toString('base64')}`);
    if (!accepted.some((want) => want.equals(digest))) ok = false;
  }
  if (!ok) {
    throw inputError(spec, 'KILN_FETCH_INTEGRITY', 'integrity check failed: the folder does not match the pinned tree', {
      expected: spec.integrity,
      found: found.join(' '),
      hint: 'if the change is intended, run `kiln lock` to pin the new content',
    });
  }
}

/**
 * The hex sha256 a content-addressed mirror keeps the pinned bytes under: the SRI's sha256,
 * else the one kiln.lock recorded beside a sha512-only pin (npm). Undefined when neither.
 */
export function pinSha256(spec: Pick<InputSpec, 'integrity' | 'sha256'>): string | undefined {
  const hex = hexDigestsOfSri(spec.integrity).sha256;
  if (hex !== undefined && /^[0-9a-f]{64}$/.test(hex)) return hex;
  return spec.sha256 !== undefined && /^[0-9a-f]{64}$/.test(spec.sha256) ? spec.sha256 : undefined;
}
