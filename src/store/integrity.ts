import { createHash, type Hash } from 'node:crypto';
import ssri from 'ssri';
import type { Digest } from '../util/digest.js';
import { sriFromHex } from '../util/integrity.js';
import { StoreError } from './errors.js';
import { assertDigest } from './path.js';

/** The hash algorithms kiln accepts in SRI strings (the three SRI names; weaker ones are refused). */
export type HashAlgorithm = 'sha256' | 'sha384' | 'sha512';

const ALGORITHMS: readonly HashAlgorithm[] = ['sha256', 'sha384', 'sha512'];
const DIGEST_BYTES: Record<HashAlgorithm, number> = { sha256: 32, sha384: 48, sha512: 64 };

/** What a write must match: for each named algorithm, the accepted raw digests. */
export interface Expectation {
  /** As given, for error messages. */
  text: string;
  expected: Map<HashAlgorithm, Buffer[]>;
}

function isAlgorithm(value: string): value is HashAlgorithm {
  return (ALGORITHMS as readonly string[]).includes(value);
}

/**
 * Parses an SRI string (ssri, strict mode) into what must match: the strict validator of a pin
 * (the conversions between spellings are `src/util/integrity.ts`, the one codec). Every whitespace-separated
 * token must be a well-formed sha256/384/512 hash: a token ssri would silently drop (a typo,
 * `sha1-…`) is an error here, since an unreadable pin must not turn into "no pin".
 */
export function parseIntegrity(integrity: string): Expectation {
  const tokens = integrity.trim().split(/\s+/).filter((t) => t.length > 0);
  const parsed = tokens.length === 0 ? null : ssri.parse(integrity, { strict: true });
  const expected = new Map<HashAlgorithm, Buffer[]>();
  let count = 0;
  for (const [algorithm, hashes] of Object.entries(parsed ?? {})) {
    if (!Array.isArray(hashes)) continue;
    for (const hash of hashes as ssri.Hash[]) {
      const raw = Buffer.from(hash.digest, 'base64');
      if (!isAlgorithm(algorithm) || raw.length !== DIGEST_BYTES[algorithm]) break;
      expected.set(algorithm, [...(expected.get(algorithm) ?? []), raw]);
      count++;
    }
  }
  if (count === 0 || count !== tokens.length) {
    throw new StoreError('KILN_STORE_BAD_INTEGRITY', `not a usable SRI string (sha256, sha384 or sha512): ${JSON.stringify(integrity)}`);
  }
  return { text: integrity, expected };
}

/** Merges an expected SRI and an expected sha256 digest into one expectation (either may be absent). */
export function expectationFor(integrity?: string, digest?: Digest): Expectation | undefined {
  if (integrity === undefined && digest === undefined) return undefined;
  const exp: Expectation = integrity === undefined ? { text: '', expected: new Map() } : parseIntegrity(integrity);
  if (digest !== undefined) {
    assertDigest(digest);
    const raw = Buffer.from(digest.slice(7), 'hex');
    exp.expected.set('sha256', [...(exp.expected.get('sha256') ?? []), raw]);
    exp.text = exp.text ? `${exp.text} ${digest}` : digest;
  }
  return exp;
}

/** sha256 always, plus every algorithm the expectation names: all computed in one pass over the bytes. */
export class MultiHash {
  private readonly hashes: Map<HashAlgorithm, Hash>;

  constructor(expectation?: Expectation) {
    this.hashes = new Map([['sha256', createHash('sha256')]]);
    for (const algorithm of expectation?.expected.keys() ?? []) {
      if (!this.hashes.has(algorithm)) this.hashes.set(algorithm, createHash(algorithm));
    }
  }

  update(chunk: Uint8Array): void {
    for (const hash of this.hashes.values()) hash.update(chunk);
  }

  digest(): Map<HashAlgorithm, Buffer> {
    const out = new Map<HashAlgorithm, Buffer>();
    for (const [algorithm, hash] of this.hashes) out.set(algorithm, hash.digest());
    return out;
  }
}

/** Every algorithm the expectation names must match one of its listed digests. */
export function matchesExpectation(expectation: Expectation, computed: Map<HashAlgorithm, Buffer>): boolean {
  for (const [algorithm, accepted] of expectation.expected) {
    const got = computed.get(algorithm);
    if (!got || !accepted.some((want) => want.equals(got))) return false;
  }
  return true;
}

/** `sha256-… sha512-…` in a fixed order (sha256 first), for `PutResult.integrity` and error `found`. */
export function toSRI(computed: Map<HashAlgorithm, Buffer>): string {
  return ALGORITHMS.filter((a) => computed.has(a))
    .map((a) => sriFromHex(a, computed.get(a)!.toString('hex')))
    .join(' ');
}

export function sha256Of(computed: Map<HashAlgorithm, Buffer>): Digest {
  return `sha256:${computed.get('sha256')!.toString('hex')}`;
}
