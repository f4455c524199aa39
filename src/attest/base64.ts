/**
 * Base64 as DSSE wants it (protocol.md): signers may use standard or URL-safe base64 and
 * verifiers MUST accept either; kiln always writes standard base64 with padding, because
 * cosign and slsa-verifier decode `payload` with Go's StdEncoding only (specs.md §0).
 */

const STANDARD = /^[A-Za-z0-9+/]*={0,2}$/;
const URL_SAFE = /^[A-Za-z0-9_-]*={0,2}$/;

/** Standard base64 with padding. */
export function toBase64(data: Uint8Array): string {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64');
}

/**
 * Decodes standard or URL-safe base64, padded or not; returns undefined for anything else.
 * Node's decoder silently skips characters it does not know, so the alphabet and the length
 * are checked first: a corrupted envelope must fail, not decode to other bytes.
 */
export function decodeBase64(text: string): Buffer | undefined {
  if (!STANDARD.test(text) && !URL_SAFE.test(text)) return undefined;
  const padded = text.endsWith('=');
  if (padded ? text.length % 4 !== 0 : text.length % 4 === 1) return undefined;
  return Buffer.from(text, 'base64');
}
