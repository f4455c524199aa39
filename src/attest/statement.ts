import { AttestError } from './errors.js';
import { STATEMENT_TYPE_V01, STATEMENT_TYPE_V1, type DigestSet, type Statement } from './types.js';
import { showValue } from '../util/show-value.js';

/** in-toto Statement v1 (in-toto/attestation spec/v1/statement.md). Pure. */

/**
 * Hex lengths of the DigestSet algorithms whose values kiln can check (digest_set.md; the Go
 * validator rejects a wrong length for these). Unknown algorithms are kept unchecked: consumers
 * MUST ignore what they do not recognize.
 */
const HEX_LENGTHS: Record<string, number[]> = {
  sha1: [40],
  sha224: [56],
  sha256: [64],
  sha384: [96],
  sha512: [128],
  sha512_224: [56],
  sha512_256: [64],
  sha3_224: [56],
  sha3_256: [64],
  sha3_384: [96],
  sha3_512: [128],
  gitCommit: [40, 64],
  gitTree: [40, 64],
  gitBlob: [40, 64],
  gitTag: [40, 64],
};

export function makeStatement<P>(subject: Statement['subject'], predicateType: string, predicate: P): Statement<P> {
  return { _type: STATEMENT_TYPE_V1, subject, predicateType, predicate };
}

/**
 * Parses and validates an in-toto Statement from payload bytes (as verified): v1, or v0.1,
 * which cosign's `attest-blob --predicate` (v3.1) and BuildKit still write around v1
 * predicates. v0.1 has the same `subject` (name + DigestSet), `predicateType` and `predicate`,
 * so both are read by the same rules and returned as found (`_type` says which it was); the
 * Go verifiers (cosign, slsa-verifier) accept both too. Any other `_type` is
 * KILN_ATTEST_STATEMENT_VERSION. Every subject needs a non-empty DigestSet; a subject
 * without a name (allowed by the spec) is kept as found.
 */
export function statementFromPayload(payload: Uint8Array): Statement {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8'));
  } catch (err) {
    throw bad('the payload is not JSON', err);
  }
  if (!isObject(value)) throw bad('the payload is not a JSON object');
  const type = value._type;
  if (type !== STATEMENT_TYPE_V1 && type !== STATEMENT_TYPE_V01) {
    const found = showValue(type);
    throw new AttestError('KILN_ATTEST_STATEMENT_VERSION', `not an in-toto Statement v1 or v0.1 (_type ${found})`, { expected: STATEMENT_TYPE_V1, found });
  }
  if (typeof value.predicateType !== 'string' || value.predicateType === '') throw bad('the statement has no "predicateType"');
  if (value.predicate !== undefined && value.predicate !== null && !isObject(value.predicate)) throw bad('"predicate" is not an object');
  if (!Array.isArray(value.subject) || value.subject.length === 0) throw bad('the statement has no "subject"');
  value.subject.forEach((s: unknown, i: number) => {
    if (!isObject(s)) throw bad(`subject ${i} is not an object`);
    if (s.name !== undefined && typeof s.name !== 'string') throw bad(`subject ${i} has a "name" that is not a string`);
    assertDigestSet(s.digest, `subject ${i}`);
  });
  return value as unknown as Statement;
}

/** Throws unless `value` is a non-empty DigestSet whose known algorithms hold lowercase hex of the right length. */
export function assertDigestSet(value: unknown, what: string): asserts value is DigestSet {
  if (!isObject(value) || Object.keys(value).length === 0) throw bad(`${what} has no "digest"`);
  for (const [alg, hex] of Object.entries(value)) {
    if (typeof hex !== 'string') throw bad(`${what} digest ${alg} is not a string`);
    const lengths = HEX_LENGTHS[alg];
    if (lengths && !(lengths.includes(hex.length) && /^[0-9a-f]*$/.test(hex))) {
      throw bad(`${what} digest ${alg} is not ${lengths.join(' or ')} lowercase hex characters`);
    }
  }
}

function bad(message: string, cause?: unknown): AttestError {
  return new AttestError('KILN_ATTEST_BAD_STATEMENT', message, { cause });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
