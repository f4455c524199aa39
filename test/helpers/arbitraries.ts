import { isKilnError } from '../../src/util/errors.js';
// fast-check arbitraries for the attestation formats an attacker hands kiln: mostly-valid
// shapes with hostile values, so properties reach past the first `typeof` check, mixed with
// plain noise. Runs are bounded (RUNS) so CI stays fast.
import fc from 'fast-check';
import { PAYLOAD_TYPE_INTOTO, PREDICATE_SLSA_PROVENANCE_V1, PREDICATE_SLSA_VSA_V1, STATEMENT_TYPE_V1 } from '../../src/attest/index.js';

/**
 * Cases per property: enough to find shallow crashes, small enough for every CI run.
 * KILN_PROPERTY_RUNS raises it for a deeper hunt (`KILN_PROPERTY_RUNS=20000 node dist/test/…`).
 */
export const RUNS = Number(process.env.KILN_PROPERTY_RUNS ?? 200);

const hexChar = fc.constantFrom(...'0123456789abcdefABCDEF');
export const hex = (length: number) => fc.string({ unit: hexChar, minLength: length, maxLength: length });

/** Strings an attacker would try: escapes, path tricks, unicode, very long, or anything at all. */
export const hostileString = fc.oneof(
  fc.string(),
  fc.constantFrom('', '_', '..', '../x', '/etc/passwd', 'a//b', './a', 'a\\..\\b', 'a\u0000b', '\x1b[2K\r✓ PASSED', '\u202egpj.exe', '__proto__', 'constructor', 'x'.repeat(5000)),
  fc.string({ unit: 'grapheme' }),
  fc.stringMatching(/^[a-z0-9./\\-]{0,40}$/),
);

const digestSet = fc.oneof(
  fc.record({ sha256: hex(64) }),
  fc.record({ sha256: hex(64), sha512: hex(128) }),
  fc.dictionary(fc.oneof(fc.constantFrom('sha256', 'sha512', 'gitCommit', 'md5'), fc.string()), fc.oneof(hex(64), fc.string(), fc.anything() as fc.Arbitrary<unknown>) as fc.Arbitrary<string>),
  fc.anything(),
);

const subject = fc.oneof(fc.record({ name: hostileString, digest: digestSet }), fc.record({ digest: digestSet }), fc.anything());

const vsaPredicate = fc.record(
  {
    verifier: fc.oneof(fc.record({ id: hostileString, version: fc.oneof(fc.dictionary(fc.string(), fc.string()), fc.anything()) }), fc.anything()),
    timeVerified: fc.oneof(fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), hostileString, fc.anything()),
    resourceUri: fc.oneof(hostileString, fc.anything()),
    policy: fc.oneof(fc.record({ uri: hostileString, digest: digestSet }), fc.anything()),
    inputAttestations: fc.oneof(fc.array(fc.oneof(fc.record({ uri: hostileString, digest: digestSet }), fc.anything())), fc.anything()),
    verificationResult: fc.oneof(fc.constantFrom('PASSED', 'FAILED'), fc.anything()),
    verifiedLevels: fc.oneof(fc.array(hostileString), fc.anything()),
  },
  { requiredKeys: [] },
);

/** A statement-shaped value: right or wrong type, provenance- or VSA-ish predicate, hostile subjects. */
export const statementLike = fc.record(
  {
    _type: fc.oneof(fc.constant(STATEMENT_TYPE_V1), fc.constant('https://in-toto.io/Statement/v0.1'), fc.anything()),
    subject: fc.oneof(fc.array(subject, { maxLength: 5 }), fc.anything()),
    predicateType: fc.oneof(fc.constantFrom(PREDICATE_SLSA_PROVENANCE_V1, PREDICATE_SLSA_VSA_V1), hostileString, fc.anything()),
    predicate: fc.oneof(vsaPredicate, fc.jsonValue(), fc.anything()),
  },
  { requiredKeys: [] },
);

/** Payload bytes: a statement-like value as JSON, arbitrary JSON, or arbitrary bytes. */
export const payloadBytes = fc.oneof(
  statementLike.map((s) => Buffer.from(JSON.stringify(s) ?? 'null')),
  fc.json().map((t) => Buffer.from(t)),
  fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
);

const base64ish = fc.oneof(payloadBytes.map((b) => b.toString('base64')), payloadBytes.map((b) => b.toString('base64url')), fc.base64String(), hostileString);

/** A DSSE envelope that parses: valid base64 everywhere, hostile statement, payloadType and keyids inside. */
export const wellFormedEnvelopeText = fc
  .record({
    payload: payloadBytes.map((b) => b.toString('base64')),
    payloadType: fc.oneof(fc.constant(PAYLOAD_TYPE_INTOTO), hostileString),
    signatures: fc.array(fc.record({ keyid: hostileString, sig: fc.uint8Array({ minLength: 1, maxLength: 72 }).map((b) => Buffer.from(b).toString('base64')) }), { minLength: 1, maxLength: 2 }),
  })
  .map((e) => JSON.stringify(e));

/** Text of a DSSE envelope: well-formed around hostile payloads and signatures, or broken anywhere. */
export const envelopeText = fc.oneof(
  { arbitrary: wellFormedEnvelopeText, weight: 3 },
  fc
    .record(
      {
        payload: fc.oneof(base64ish, fc.anything()),
        payloadType: fc.oneof(fc.constant(PAYLOAD_TYPE_INTOTO), hostileString, fc.anything()),
        signatures: fc.oneof(fc.array(fc.oneof(fc.record({ keyid: fc.oneof(hostileString, fc.anything()), sig: fc.oneof(base64ish, fc.anything()) }, { requiredKeys: [] }), fc.anything()), { maxLength: 3 }), fc.anything()),
      },
      { requiredKeys: [] },
    )
    .map((e) => JSON.stringify(e)),
  fc.json(),
  fc.string(),
);

/**
 * Runs `fn` for a property: a result or a KilnError is an answer, anything else (a crash, a
 * bare TypeError) fails the property, and so does taking longer than `maxMs`.
 */
export function answersOrKilnError(fn: () => unknown, maxMs: number): boolean {
  const t0 = performance.now();
  try {
    fn();
  } catch (err) {
    if (!isKilnError(err)) throw err;
  }
  const ms = performance.now() - t0;
  if (ms > maxMs) throw new Error(`took ${ms.toFixed(0)} ms`);
  return true;
}
