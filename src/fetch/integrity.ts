import { createHash } from 'node:crypto';
import { parseIntegrity, StoreError, type HashAlgorithm } from '../store/index.js';
import type { InputSpec } from '../recipe/types.js';
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
