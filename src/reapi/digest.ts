import { createHash } from 'node:crypto';
import { type Digest, digestHex, isDigest } from '../util/digest.js';
import { ReapiError } from './errors.js';

/**
 * A REAPI Digest (build.bazel.remote.execution.v2.Digest): lowercase hex sha256 and size.
 * kiln's `sha256:<hex>` digests carry the same hash, so a kiln blob and a REAPI blob of the same
 * bytes share an address: `{ hash: <hex>, sizeBytes: <size> }`.
 */
export interface ReapiDigest {
  hash: string;
  sizeBytes: number;
}

const HEX64 = /^[0-9a-f]{64}$/;

/** The REAPI digest of a kiln blob whose size is known. */
export function toReapiDigest(digest: Digest, size: number): ReapiDigest {
  return { hash: digestHex(digest), sizeBytes: size };
}

/** The kiln digest of the same bytes. */
export function fromReapiDigest(d: ReapiDigest): Digest {
  const digest = `sha256:${d.hash}`;
  if (!isDigest(digest)) throw new ReapiError('KILN_REAPI_BAD_RESPONSE', `not a sha256 digest: ${JSON.stringify(d.hash)}`);
  return digest;
}

export function digestOfBytes(bytes: Uint8Array): ReapiDigest {
  return { hash: createHash('sha256').update(bytes).digest('hex'), sizeBytes: bytes.length };
}

/** `hash/size`: the key kiln uses in maps of digests (and the tail of a ByteStream resource name). */
export function digestKey(d: ReapiDigest): string {
  return `${d.hash}/${d.sizeBytes}`;
}

export function isReapiDigest(value: unknown): value is ReapiDigest {
  const d = value as ReapiDigest | null;
  return (
    typeof d === 'object' && d !== null && typeof d.hash === 'string' && HEX64.test(d.hash) &&
    Number.isSafeInteger(d.sizeBytes) && d.sizeBytes >= 0
  );
}

/** Throws KILN_REAPI_BAD_RESPONSE unless `value` is a sha256 digest with a sane size (`what` names it). */
export function assertReapiDigest(value: unknown, what: string): asserts value is ReapiDigest {
  if (!isReapiDigest(value)) {
    throw new ReapiError('KILN_REAPI_BAD_RESPONSE', `${what} is not a sha256 digest with a size: ${JSON.stringify(value)}`);
  }
}

/** The digest of the empty blob, which every CAS has without being asked (REAPI v2, "Digest"). */
export const EMPTY_DIGEST: ReapiDigest = {
  hash: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  sizeBytes: 0,
};
