import { isDigest, type Digest } from './digest.js';

/**
 * The one codec between kiln's three spellings of a hash: SRI (`sha256-<base64>`, how recipes
 * and locks pin), hex (how apt, dpkg, in-toto DigestSets and trees report), and `Digest`
 * (`sha256:<hex>`, how the store addresses). Parsing here is lenient by design (unknown tokens
 * are skipped); `parseIntegrity` in the store is the strict validator of a pin.
 */

/** The SRI algorithms kiln reads. */
export type SriAlgorithm = 'sha256' | 'sha384' | 'sha512';

const SRI_TOKEN = /^(sha256|sha384|sha512)-([A-Za-z0-9+/]+={0,2})(\?.*)?$/;

/** `sha256-<base64>` of a hex hash (any of the SRI algorithms). */
export function sriFromHex(algorithm: SriAlgorithm, hex: string): string {
  return `${algorithm}-${Buffer.from(hex, 'hex').toString('base64')}`;
}

/** The SRI string of a sha256 given as hex: how kiln pins what apt, dpkg and trees report in hex. */
export function sriFromSha256Hex(hex: string): string {
  return sriFromHex('sha256', hex);
}

/** The SRI of a store digest. */
export function sriFromDigest(digest: Digest): string {
  return sriFromHex('sha256', digest.slice('sha256:'.length));
}

/** Every hash of an SRI as hex, by algorithm (an in-toto DigestSet); the first of each algorithm wins. */
export function hexDigestsOfSri(integrity: string): Partial<Record<SriAlgorithm, string>> {
  const out: Partial<Record<SriAlgorithm, string>> = {};
  for (const token of integrity.trim().split(/\s+/)) {
    const m = SRI_TOKEN.exec(token);
    if (m && out[m[1] as SriAlgorithm] === undefined) out[m[1] as SriAlgorithm] = Buffer.from(m[2]!, 'base64').toString('hex');
  }
  return out;
}

/** The SRI's sha256 as a store digest, if it has a well-formed one. */
export function digestOfSri(integrity: string): Digest | undefined {
  const hex = hexDigestsOfSri(integrity).sha256;
  const digest = hex === undefined ? undefined : `sha256:${hex}`;
  return isDigest(digest) ? digest : undefined;
}
