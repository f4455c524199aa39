import { createHash } from 'node:crypto';

/** A content digest as kiln writes it everywhere: `sha256:<64 lowercase hex>`. */
export type Digest = `sha256:${string}`;

export const DIGEST_PATTERN = /^sha256:[0-9a-f]{64}$/;

export function isDigest(value: unknown): value is Digest {
  return typeof value === 'string' && DIGEST_PATTERN.test(value);
}

export function toDigest(hex: string): Digest {
  const d = `sha256:${hex}`;
  if (!isDigest(d)) throw new TypeError(`not a sha256 hex digest: ${hex}`);
  return d;
}

/** The 64 hex characters of a digest. */
export function digestHex(digest: Digest): string {
  return digest.slice('sha256:'.length);
}

export function sha256Digest(data: string | Uint8Array): Digest {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** Read size for hashing files: Node's hashing reaches OpenSSL's speed only with ~1 MiB chunks. */
export const HASH_CHUNK_BYTES = 1 << 20;
